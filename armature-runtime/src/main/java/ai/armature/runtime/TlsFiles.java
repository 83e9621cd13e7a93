package ai.armature.runtime;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;

/**
 * PEM files for TLS: this side's certificate chain and PKCS#8 private key (both or neither), and the CA
 * certificates to trust (null: the JVM's default trust store). For gRPC servers a CA also means clients must
 * present a certificate it signed (mutual TLS).
 */
public record TlsFiles(Path cert, Path key, Path ca) {

    public TlsFiles {
        if ((cert == null) != (key == null)) throw new IllegalArgumentException("--tls-cert and --tls-key go together");
        for (Path p : new Path[] {cert, key, ca}) {
            if (p != null && !Files.isReadable(p)) throw new IllegalArgumentException("cannot read the TLS file " + p);
        }
    }

    /** A gRPC server context: needs cert and key; with a CA, clients must present a certificate signed by it. */
    public SslContext grpcServer() throws IOException {
        if (cert == null) throw new IllegalArgumentException("a TLS server needs --tls-cert and --tls-key");
        SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forServer(cert.toFile(), key.toFile()));
        if (ca != null) b.trustManager(ca.toFile()).clientAuth(ClientAuth.REQUIRE);
        return b.build();
    }

    /** A gRPC (or etcd) client context: trusts the CA (or the JVM's defaults) and presents cert and key if given. */
    public SslContext grpcClient() throws IOException {
        SslContextBuilder b = GrpcSslContexts.forClient();
        if (ca != null) b.trustManager(ca.toFile());
        if (cert != null) b.keyManager(cert.toFile(), key.toFile());
        return b.build();
    }

    /** A JDK context for clients of other protocols (NATS). */
    public SSLContext javaClient() throws IOException, GeneralSecurityException {
        KeyManagerFactory kmf = null;
        if (cert != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("key", privateKey(key), new char[0], certificates(cert).toArray(new Certificate[0]));
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
        }
        TrustManagerFactory tmf = null;
        if (ca != null) {
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            int i = 0;
            for (Certificate c : certificates(ca)) ts.setCertificateEntry("ca" + i++, c);
            tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
        return ctx;
    }

    private static Collection<? extends Certificate> certificates(Path pem) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            return CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
    }

    private static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        String text = Files.readString(pem);
        if (!text.contains("BEGIN PRIVATE KEY")) throw new IllegalArgumentException(pem + ": the key must be PEM PKCS#8 (BEGIN PRIVATE KEY)");
        String b64 = text.replaceAll("-----[^-]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException(pem + ": unsupported private key (RSA, EC or Ed25519 expected)");
    }
}
