package ai.armature.runtime.local;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** A one-member etcd cluster on loopback (see {@link LocalServer}). */
public final class LocalEtcd extends LocalServer {

    private final Path binary;
    private final int clientPort;
    private final int peerPort;

    public LocalEtcd(Path binary, Path dir) throws IOException {
        super(dir);
        this.binary = binary;
        this.clientPort = freePort();
        this.peerPort = freePort();
    }

    /** The etcd binary, if installed (Debian package etcd-server). */
    public static java.util.Optional<Path> find() {
        return binary("etcd");
    }

    @Override
    protected List<String> command() {
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        return List.of(binary.toString(), "--name", "armature-test", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "armature-test=" + peer, "--log-level", "warn");
    }

    @Override
    public int port() {
        return clientPort;
    }

    /** The {@code --discovery} URL of this server. */
    public String url() {
        return "etcd://127.0.0.1:" + clientPort;
    }
}
