package ai.armature.serving.mock;

import java.util.concurrent.locks.LockSupport;

/**
 * The time a simulated runner lives in: {@link #realTime()} (steps take wall-clock time) or a {@link SimClock}
 * (virtual time: a step advances the clock by its simulated duration, nothing sleeps).
 */
public interface MockClock {

    /** Current time in nanoseconds (arbitrary origin). */
    long nanoTime();

    /** Returns at time {@code deadlineNanos}: by waiting (real time) or by advancing the clock (virtual time). */
    void sleepUntil(long deadlineNanos);

    /** Wall-clock time: {@link System#nanoTime()}, parking the thread until each step's simulated end. */
    static MockClock realTime() {
        return RealTimeClock.INSTANCE;
    }

    /** The wall-clock implementation. */
    final class RealTimeClock implements MockClock {
        static final RealTimeClock INSTANCE = new RealTimeClock();

        private RealTimeClock() {
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleepUntil(long deadlineNanos) {
            long left;
            while ((left = deadlineNanos - System.nanoTime()) > 0) {
                LockSupport.parkNanos(left);
                if (Thread.currentThread().isInterrupted()) return;
            }
        }
    }
}
