package ai.armature.runtime.local;

import ai.armature.runtime.TlsFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A nats-server on loopback (see {@link LocalServer}), optionally requiring a token or a user and password, and
 * optionally over TLS with the given certificate and key (with their CA: clients must present a certificate it signed).
 */
public final class LocalNats extends LocalServer {

    private final Path binary;
    private final int port;
    private final String user;
    private final String password;
    private final TlsFiles tls;

    public LocalNats(Path binary, Path dir, String token) throws IOException {
        this(binary, dir, token, null, null);
    }

    /** {@code user} without {@code password} is a token; both null: no authentication. */
    public LocalNats(Path binary, Path dir, String user, String password, TlsFiles tls) throws IOException {
        super(dir);
        if (password != null && user == null) throw new IllegalArgumentException("a password needs a user");
        if (tls != null && tls.cert() == null) throw new IllegalArgumentException("a TLS nats-server needs a certificate and key");
        this.binary = binary;
        this.port = freePort();
        this.user = user;
        this.password = password;
        this.tls = tls;
    }

    /** The nats-server binary, if installed (Debian package nats-server). */
    public static java.util.Optional<Path> find() {
        return binary("nats-server");
    }

    @Override
    protected List<String> command() {
        List<String> c = new ArrayList<>(List.of(binary.toString(), "-a", "127.0.0.1", "-p", Integer.toString(port)));
        if (user != null && password == null) c.addAll(List.of("--auth", user));
        if (password != null) c.addAll(List.of("--user", user, "--pass", password));
        if (tls != null) {
            c.addAll(List.of("--tls", "--tlscert", tls.cert().toString(), "--tlskey", tls.key().toString()));
            if (tls.ca() != null) c.addAll(List.of("--tlsverify", "--tlscacert", tls.ca().toString()));
        }
        return c;
    }

    @Override
    public int port() {
        return port;
    }

    /** The {@code --events} URL of this server with its credentials, if any ({@code tls://} over TLS, without PEM files). */
    public String url() {
        String cred = user == null ? "" : user + (password == null ? "" : ":" + password) + "@";
        return (tls != null ? "tls" : "nats") + "://" + cred + "127.0.0.1:" + port;
    }
}
