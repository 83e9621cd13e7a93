package ai.armature.frontend;

import io.helidon.common.socket.SocketOptions;

import java.net.Socket;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Helidon's socket options, plus a call for every accepted socket: the listener applies its connection options
 * to each socket it accepts, the one hook Helidon offers at that moment, which {@link ConnectionGuard} needs to time
 * connections that have not sent a byte yet.
 */
final class RegisteringSocketOptions implements SocketOptions {

    private final SocketOptions delegate;
    private final Consumer<SocketChannel> accepted;

    RegisteringSocketOptions(SocketOptions delegate, Consumer<SocketChannel> accepted) {
        this.delegate = delegate;
        this.accepted = accepted;
    }

    @Override
    public void configureSocket(SocketChannel socket) {
        delegate.configureSocket(socket);
        accepted.accept(socket);
    }

    @Override
    public void configureSocket(Socket socket) {
        delegate.configureSocket(socket);
    }

    @Override
    public Map<SocketOption<?>, Object> socketOptions() {
        return delegate.socketOptions();
    }

    @Override
    public Duration connectTimeout() {
        return delegate.connectTimeout();
    }

    @Override
    public Duration readTimeout() {
        return delegate.readTimeout();
    }

    @Override
    public Optional<Integer> socketReceiveBufferSize() {
        return delegate.socketReceiveBufferSize();
    }

    @Override
    public Optional<Integer> socketSendBufferSize() {
        return delegate.socketSendBufferSize();
    }

    @Override
    public boolean socketReuseAddress() {
        return delegate.socketReuseAddress();
    }

    @Override
    public boolean socketKeepAlive() {
        return delegate.socketKeepAlive();
    }

    @Override
    public boolean tcpNoDelay() {
        return delegate.tcpNoDelay();
    }
}
