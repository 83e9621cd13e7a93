package ai.armature.runtime.local;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A nats-server on loopback, optionally requiring a token (see {@link LocalServer}). */
public final class LocalNats extends LocalServer {

    private final Path binary;
    private final int port;
    private final String token;

    public LocalNats(Path binary, Path dir, String token) throws IOException {
        super(dir);
        this.binary = binary;
        this.port = freePort();
        this.token = token;
    }

    /** The nats-server binary, if installed (Debian package nats-server). */
    public static java.util.Optional<Path> find() {
        return binary("nats-server");
    }

    @Override
    protected List<String> command() {
        List<String> c = new ArrayList<>(List.of(binary.toString(), "-a", "127.0.0.1", "-p", Integer.toString(port)));
        if (token != null) c.addAll(List.of("--auth", token));
        return c;
    }

    @Override
    public int port() {
        return port;
    }

    /** The {@code --events} URL of this server (with its token, if any). */
    public String url() {
        return "nats://" + (token == null ? "" : token + "@") + "127.0.0.1:" + port;
    }
}
