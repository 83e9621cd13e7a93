package ai.armature.planner.connector;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Logger;

import ai.armature.planner.Autoscaler;
import ai.armature.planner.Pool;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;

/**
 * Scales one Kubernetes Deployment per pool ({@code --connector kubernetes}) through the API server, with the
 * fabric8 client. Starting adds replicas (the ReplicaSet names the pods, so each start is a placeholder the first
 * new worker of the pool to register takes). Stopping a serving worker first gives its pod the lowest
 * {@code controller.kubernetes.io/pod-deletion-cost}, so the ReplicaSet removes exactly that pod when the replicas
 * go down by one; Kubernetes then sends it SIGTERM and the worker drains (its {@code terminationGracePeriodSeconds}
 * must exceed its {@code --drain-timeout}, as the manifests under {@code deploy/kubernetes/} set). Cancelling a
 * starting worker removes a replica: the ReplicaSet deletes a pod that is not ready first. Pods of the pools'
 * Deployments that are deleted are reported as exited. Workers register under their pod name
 * ({@code --worker-id $(POD_NAME)}).
 */
public final class KubernetesConnector implements Connector {

    private static final Logger LOG = Logger.getLogger(KubernetesConnector.class.getName());
    /** The annotation the ReplicaSet controller ranks pods by when it removes some (lowest first). */
    public static final String DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

    private final KubernetesClient client;
    private final String namespace;
    private final Map<Pool, String> deployments = new EnumMap<>(Pool.class);
    private final List<Watch> watches = new ArrayList<>();
    private final boolean ownsClient;
    private volatile Listener listener = id -> { };
    private long placeholders;

    /** @param deployments the Deployment (in {@code namespace}) of each pool this connector scales */
    public KubernetesConnector(KubernetesClient client, String namespace, Map<Pool, String> deployments) {
        this(client, namespace, deployments, false);
    }

    /** A connector that closes {@code client} when it is closed. */
    public static KubernetesConnector owning(KubernetesClient client, String namespace, Map<Pool, String> deployments) {
        return new KubernetesConnector(client, namespace, deployments, true);
    }

    private KubernetesConnector(KubernetesClient client, String namespace, Map<Pool, String> deployments, boolean ownsClient) {
        this.ownsClient = ownsClient;
        this.client = Objects.requireNonNull(client, "client");
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        if (deployments.isEmpty()) throw new IllegalArgumentException("name at least one Deployment to scale");
        this.deployments.putAll(deployments);
        for (var e : this.deployments.entrySet()) {
            Deployment d = deployment(e.getKey());
            if (d == null) {
                throw new IllegalArgumentException("Deployment " + namespace + "/" + e.getValue() + " (the " + e.getKey().roleName()
                        + " pool) does not exist: apply deploy/kubernetes/ first");
            }
            Map<String, String> labels = d.getSpec().getSelector().getMatchLabels();
            watches.add(client.pods().inNamespace(namespace).withLabels(labels).watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, Pod pod) {
                    if (action == Action.DELETED) listener.exited(pod.getMetadata().getName());
                }

                @Override
                public void onClose(WatcherException cause) {
                    LOG.warning("planner: the watch of " + e.getValue() + "'s pods closed: " + cause.getMessage());
                }
            }));
        }
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public void listen(Listener l) {
        this.listener = Objects.requireNonNull(l);
    }

    /** The replicas the pool's Deployment asks for now. */
    public int replicas(Pool pool) {
        Deployment d = deployment(pool);
        Integer r = d == null ? null : d.getSpec().getReplicas();
        return r == null ? 1 : r;
    }

    @Override
    public synchronized List<String> start(Pool pool, int count) {
        if (count <= 0) return List.of();
        int now = replicas(pool);
        scale(pool, now + count);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) ids.add(Autoscaler.placeholder(pool, ++placeholders));
        LOG.info("planner: " + name(pool) + ": replicas " + now + " -> " + (now + count));
        return ids;
    }

    @Override
    public synchronized void stop(Pool pool, String workerId, boolean serving) {
        if (serving) {
            try {
                client.pods().inNamespace(namespace).withName(workerId).edit(p -> new PodBuilder(p).editMetadata()
                        .addToAnnotations(DELETION_COST, String.valueOf(Integer.MIN_VALUE)).endMetadata().build());
            } catch (KubernetesClientException e) {
                LOG.warning("planner: cannot mark pod " + workerId + " for removal (" + e.getMessage() + "): the ReplicaSet picks one");
            }
        }
        int now = replicas(pool);
        if (now > 0) scale(pool, now - 1);
        LOG.info("planner: " + name(pool) + ": replicas " + now + " -> " + Math.max(0, now - 1) + (serving ? " (drains " + workerId + ")" : ""));
        if (!serving) listener.exited(workerId);
    }

    private void scale(Pool pool, int replicas) {
        client.apps().deployments().inNamespace(namespace).withName(name(pool)).scale(replicas);
    }

    private Deployment deployment(Pool pool) {
        return client.apps().deployments().inNamespace(namespace).withName(name(pool)).get();
    }

    private String name(Pool pool) {
        String n = deployments.get(pool);
        if (n == null) throw new IllegalArgumentException("no Deployment is configured for the " + pool.roleName() + " pool");
        return n;
    }

    @Override
    public void close() {
        for (Watch w : watches) w.close();
        if (ownsClient) client.close();
    }
}
