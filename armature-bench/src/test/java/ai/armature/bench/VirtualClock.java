package ai.armature.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Virtual time for load runs: time stands still while any task of the run is doing something, and jumps to the
 * earliest deadline once every task is waiting in {@link #parkUntil}. A task counts from its submission to its end,
 * so a task not yet started holds time back too. A run's timings are then exact: a request due at 50 ms is sent at
 * 50 ms, a request that takes 5 ms takes 5 ms, whatever the machine is doing.
 */
final class VirtualClock implements BenchClock {

    private record Waiter(long deadline, long order) {
    }

    private final Object lock = new Object();
    private final PriorityQueue<Waiter> waiters = new PriorityQueue<>((a, b) ->
            a.deadline != b.deadline ? Long.compare(a.deadline, b.deadline) : Long.compare(a.order, b.order));
    private final List<Waiter> released = new ArrayList<>();
    private long now;
    private long order;
    private int active;

    @Override
    public long nanoTime() {
        synchronized (lock) {
            return now;
        }
    }

    @Override
    public void parkUntil(long deadlineNanos, BooleanSupplier stop) {
        synchronized (lock) {
            if (deadlineNanos <= now) return;
            Waiter w = new Waiter(deadlineNanos, order++);
            waiters.add(w);
            active--;
            advanceIfIdle();
            while (!released.remove(w)) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    waiters.remove(w);
                    active++;
                    return;
                }
            }
        }
    }

    /** Moves time to the earliest deadline while nothing runs, and wakes every task due by then. */
    private void advanceIfIdle() {
        if (active > 0 || waiters.isEmpty()) return;
        now = Math.max(now, waiters.peek().deadline());
        while (!waiters.isEmpty() && waiters.peek().deadline() <= now) {
            released.add(waiters.poll());
            active++;
        }
        lock.notifyAll();
    }

    private void started() {
        synchronized (lock) {
            active++;
        }
    }

    private void ended() {
        synchronized (lock) {
            active--;
            advanceIfIdle();
        }
    }

    @Override
    public ExecutorService newExecutor() {
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        return new AbstractExecutorService() {
            @Override
            public void execute(Runnable task) {
                started();
                try {
                    threads.execute(() -> {
                        try {
                            task.run();
                        } finally {
                            ended();
                        }
                    });
                } catch (RuntimeException e) {
                    ended();
                    throw e;
                }
            }

            @Override
            public void shutdown() {
                threads.shutdown();
            }

            @Override
            public List<Runnable> shutdownNow() {
                return threads.shutdownNow();
            }

            @Override
            public boolean isShutdown() {
                return threads.isShutdown();
            }

            @Override
            public boolean isTerminated() {
                return threads.isTerminated();
            }

            @Override
            public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
                return threads.awaitTermination(timeout, unit);
            }
        };
    }
}
