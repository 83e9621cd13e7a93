package ai.armature.runtime.local;

import ai.armature.runtime.TlsFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A one-member etcd cluster on loopback (see {@link LocalServer}). With {@link TlsFiles} it serves clients over TLS
 * with that certificate and key, and with their CA it also requires client certificates signed by it.
 */
public final class LocalEtcd extends LocalServer {

    private final Path binary;
    private final int clientPort;
    private final int peerPort;
    private final TlsFiles tls;

    public LocalEtcd(Path binary, Path dir) throws IOException {
        this(binary, dir, null);
    }

    public LocalEtcd(Path binary, Path dir, TlsFiles tls) throws IOException {
        super(dir);
        if (tls != null && tls.cert() == null) throw new IllegalArgumentException("a TLS etcd needs a certificate and key");
        this.binary = binary;
        this.clientPort = freePort();
        this.peerPort = freePort();
        this.tls = tls;
    }

    /** The etcd binary, if installed (Debian package etcd-server). */
    public static java.util.Optional<Path> find() {
        return binary("etcd");
    }

    @Override
    protected List<String> command() {
        String client = (tls != null ? "https" : "http") + "://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        List<String> c = new ArrayList<>(List.of(binary.toString(), "--name", "armature-test", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "armature-test=" + peer, "--log-level", "warn"));
        if (tls != null) {
            c.addAll(List.of("--cert-file", tls.cert().toString(), "--key-file", tls.key().toString()));
            if (tls.ca() != null) c.addAll(List.of("--trusted-ca-file", tls.ca().toString(), "--client-cert-auth"));
        }
        return c;
    }

    @Override
    public int port() {
        return clientPort;
    }

    /** The {@code --discovery} URL of this server ({@code etcds://} over TLS, without the client's PEM files). */
    public String url() {
        return (tls != null ? "etcds" : "etcd") + "://127.0.0.1:" + clientPort;
    }
}
