package ai.armature.runtime;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.Date;

/** A throwaway CA and certificates it signs, written as PEM files, for mutual-TLS tests (gRPC, etcd, NATS). */
public final class TestCertificates {

    public record Issued(Path cert, Path key) {
    }

    private final Path dir;
    private final KeyPair caKeys;
    private final X509CertificateHolder ca;
    public final Path caFile;

    public TestCertificates(Path dir, String name) throws Exception {
        this.dir = dir;
        caKeys = keys();
        X500Name subject = new X500Name("CN=" + name);
        var b = new JcaX509v3CertificateBuilder(subject, BigInteger.ONE, new Date(System.currentTimeMillis() - 60_000),
                new Date(System.currentTimeMillis() + 86_400_000L), subject, caKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        ca = b.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
        caFile = dir.resolve(name + "-ca.pem");
        Files.writeString(caFile, pem(ca));
    }

    /** A certificate for {@code name}, valid for localhost and 127.0.0.1. */
    public Issued issue(String name, int serial) throws Exception {
        KeyPair k = keys();
        var b = new JcaX509v3CertificateBuilder(ca.getSubject(), BigInteger.valueOf(serial), new Date(System.currentTimeMillis() - 60_000),
                new Date(System.currentTimeMillis() + 86_400_000L), new X500Name("CN=" + name), k.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        X509CertificateHolder cert = b.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
        Path certFile = dir.resolve(name + ".pem");
        Path keyFile = dir.resolve(name + "-key.pem");
        Files.writeString(certFile, pem(cert));
        Files.writeString(keyFile, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(k.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return new Issued(certFile, keyFile);
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static String pem(X509CertificateHolder cert) throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(cert);
        }
        return w.toString();
    }
}
