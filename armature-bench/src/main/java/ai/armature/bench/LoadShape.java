package ai.armature.bench;

/** How requests are released: a fixed number of concurrent clients, Poisson arrivals, or a trace's timestamps. */
public sealed interface LoadShape {

    /** A short label for reports ({@code concurrency=8}, {@code rate=4.0/s}, {@code trace}). */
    String label();

    /** Closed loop: {@code concurrency} clients, each sending its next conversation when the previous one ends. */
    record Closed(int concurrency) implements LoadShape {
        public Closed {
            if (concurrency < 1) {
                throw new IllegalArgumentException("--concurrency must be at least 1 (got " + concurrency + ")");
            }
        }

        @Override
        public String label() {
            return "concurrency=" + concurrency;
        }
    }

    /** Open loop: conversations start at Poisson arrivals of {@code rate} per second (seeded), whatever is in flight. */
    record Poisson(double rate, long seed) implements LoadShape {
        public Poisson {
            if (!(rate > 0) || Double.isInfinite(rate)) {
                throw new IllegalArgumentException("--request-rate must be a positive number (got " + rate + ")");
            }
        }

        @Override
        public String label() {
            return "rate=" + rate + "/s";
        }
    }

    /** Each conversation starts at its own scheduled offset (trace replay); the first one starts at once. */
    record Scheduled() implements LoadShape {
        @Override
        public String label() {
            return "trace";
        }
    }
}
