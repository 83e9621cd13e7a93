package ai.armature.runtime;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The address of a discovery or event-plane server as the user writes it: {@code SCHEME://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...][?ca=FILE&cert=FILE&key=FILE]}.
 * Schemes: {@code etcd} and {@code etcds} (TLS) for discovery, {@code nats} and {@code tls} (TLS) for events. A
 * user without a password is a token (NATS). The query names PEM files: {@code ca} to trust the server's
 * certificate, {@code cert} and {@code key} for a client certificate (mutual TLS). Credentials never appear in
 * {@link #toString()}.
 */
public record PlaneUrl(String scheme, List<String> hostPorts, String user, String password, TlsFiles tls) {

    private static final Set<String> SCHEMES = Set.of("etcd", "etcds", "nats", "tls");

    /** Parses {@code text}; {@code allowed} are the schemes this plane accepts (e.g. etcd, etcds). */
    public static PlaneUrl parse(String text, String option, String... allowed) {
        int sep = text.indexOf("://");
        if (sep < 0) throw new IllegalArgumentException(option + " must look like " + allowed[0] + "://HOST:PORT, got '" + text + "'");
        String scheme = text.substring(0, sep);
        if (!SCHEMES.contains(scheme) || !List.of(allowed).contains(scheme)) {
            throw new IllegalArgumentException(option + ": unsupported scheme '" + scheme + "'; use " + String.join(" or ", allowed));
        }
        String rest = text.substring(sep + 3);
        Map<String, String> query = new LinkedHashMap<>();
        int q = rest.indexOf('?');
        if (q >= 0) {
            for (String kv : rest.substring(q + 1).split("&")) {
                if (kv.isEmpty()) continue;
                int eq = kv.indexOf('=');
                if (eq < 0) throw new IllegalArgumentException(option + ": '" + kv + "' is not key=value");
                query.put(kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
            rest = rest.substring(0, q);
        }
        for (String k : query.keySet()) {
            if (!Set.of("ca", "cert", "key").contains(k)) throw new IllegalArgumentException(option + ": unknown parameter '" + k + "' (known: ca, cert, key)");
        }
        String user = null, password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String cred = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = cred.indexOf(':');
            user = URLDecoder.decode(colon < 0 ? cred : cred.substring(0, colon), StandardCharsets.UTF_8);
            password = colon < 0 ? null : URLDecoder.decode(cred.substring(colon + 1), StandardCharsets.UTF_8);
        }
        List<String> hosts = new ArrayList<>();
        for (String hp : rest.split(",")) {
            URI u = URI.create("x://" + hp);
            if (u.getHost() == null || u.getPort() < 1) throw new IllegalArgumentException(option + ": '" + hp + "' is not HOST:PORT");
            hosts.add(hp);
        }
        boolean secure = scheme.equals("etcds") || scheme.equals("tls");
        if (!secure && !query.isEmpty()) throw new IllegalArgumentException(option + ": ca/cert/key need the TLS scheme (etcds:// or tls://)");
        if (query.containsKey("cert") != query.containsKey("key")) throw new IllegalArgumentException(option + ": cert and key go together");
        TlsFiles tls = secure ? new TlsFiles(path(query.get("cert")), path(query.get("key")), path(query.get("ca"))) : null;
        return new PlaneUrl(scheme, List.copyOf(hosts), user, password, tls);
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }

    public boolean secure() {
        return tls != null;
    }

    /** The URLs of each server for a client library, without credentials ({@code http(s)://} for etcd, as given for NATS). */
    public List<String> serverUrls(String plainScheme, String secureScheme) {
        List<String> urls = new ArrayList<>();
        for (String hp : hostPorts) urls.add((secure() ? secureScheme : plainScheme) + "://" + hp);
        return urls;
    }

    @Override
    public String toString() {
        return scheme + "://" + (user != null ? "***@" : "") + String.join(",", hostPorts);
    }
}
