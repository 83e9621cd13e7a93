package ai.armature.frontend;

import io.helidon.logging.common.spi.LoggingProvider;

/**
 * Tells Helidon that logging is configured: Armature sets up java.util.logging itself (one line per event, the
 * CLI's format), so there is nothing for Helidon to load. Without a provider Helidon prints "There is no Helidon
 * logging implementation on classpath" on every start; its own logging modules would replace our configuration
 * with theirs.
 */
public final class HelidonLogging implements LoggingProvider {

    @Override
    public void initialization() {
    }

    @Override
    public void runTime() {
    }
}
