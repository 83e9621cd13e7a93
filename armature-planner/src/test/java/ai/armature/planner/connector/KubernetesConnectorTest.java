package ai.armature.planner.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.armature.planner.Autoscaler;
import ai.armature.planner.Pool;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;

/**
 * The Kubernetes connector against fabric8's API server mock in CRUD mode (no controllers run there: the test
 * creates and deletes pods as the ReplicaSet and the kubelet would).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesConnectorTest {

    static KubernetesClient client;
    static final String NS = "armature";

    @BeforeEach
    void deployment() {
        client.apps().deployments().inNamespace(NS).withName("armature-worker").delete();
        client.pods().inNamespace(NS).withLabel("app", "worker").delete();
        Deployment d = new DeploymentBuilder().withNewMetadata().withName("armature-worker").endMetadata()
                .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "worker").endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", "worker").endMetadata()
                .withNewSpec().addNewContainer().withName("worker").withImage("armature:test").endContainer().endSpec()
                .endTemplate().endSpec().build();
        client.apps().deployments().inNamespace(NS).resource(d).create();
        pod("worker-a");
    }

    static void pod(String name) {
        client.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(name).addToLabels("app", "worker").endMetadata().build())
                .create();
    }

    static int replicas() {
        return client.apps().deployments().inNamespace(NS).withName("armature-worker").get().getSpec().getReplicas();
    }

    @Test
    void scalesTheDeploymentAndMarksThePodToRemove() throws Exception {
        BlockingQueue<String> exited = new LinkedBlockingQueue<>();
        try (KubernetesConnector k = new KubernetesConnector(client, NS, Map.of(Pool.AGGREGATED, "armature-worker"))) {
            k.listen(exited::add);
            List<String> ids = k.start(Pool.AGGREGATED, 2);
            assertThat(replicas()).isEqualTo(3);
            assertThat(ids).hasSize(2).allSatisfy(id -> assertThat(id).startsWith("#aggregated-"));
            pod("worker-b");
            pod("worker-c");

            // A serving worker: its pod gets the lowest deletion cost first, then the replicas go down by one.
            k.stop(Pool.AGGREGATED, "worker-b", true);
            assertThat(replicas()).isEqualTo(2);
            Pod b = client.pods().inNamespace(NS).withName("worker-b").get();
            assertThat(b.getMetadata().getAnnotations()).containsEntry(KubernetesConnector.DELETION_COST, String.valueOf(Integer.MIN_VALUE));
            assertThat(client.pods().inNamespace(NS).withName("worker-a").get().getMetadata().getAnnotations()).isNullOrEmpty();
            assertThat(exited.poll()).as("draining: not gone until its pod is").isNull();
            // The ReplicaSet deletes it; the kubelet sends SIGTERM and the worker drains, then the pod is gone.
            client.pods().inNamespace(NS).withName("worker-b").delete();
            assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo("worker-b");

            // A placeholder still starting: one replica less, reported exited at once.
            k.stop(Pool.AGGREGATED, ids.get(1), false);
            assertThat(replicas()).isEqualTo(1);
            assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo(ids.get(1));
        }
    }

    @Test
    void theAutoscalerMatchesPlaceholdersToThePodsThatRegister() {
        try (KubernetesConnector k = new KubernetesConnector(client, NS, Map.of(Pool.AGGREGATED, "armature-worker"))) {
            var policy = new ai.armature.planner.QueueThresholdPolicy(1, 4);
            Autoscaler a = new Autoscaler(policy, k, ai.armature.planner.PlannerConfig.defaults(), List.of(Pool.AGGREGATED), 600);
            a.registered("worker-a", Pool.AGGREGATED, 0);
            assertThat(a.demand(Pool.AGGREGATED, 1)).as("a worker serves already").isZero();
            List<String> started = k.start(Pool.AGGREGATED, 1);
            assertThat(replicas()).isEqualTo(2);
            assertThat(started).hasSize(1);
        }
    }

    /** Disaggregated pools: a prefill and a decode Deployment (deploy/kubernetes/worker-disaggregated.yaml), each scaled alone. */
    @Test
    void eachPoolScalesItsOwnDeploymentAndSeesItsOwnPodsGo() throws Exception {
        for (String role : List.of("prefill", "decode")) {
            client.apps().deployments().inNamespace(NS).withName("armature-worker-" + role).delete();
            client.pods().inNamespace(NS).withLabel("app", "worker-" + role).delete();
            Deployment d = new DeploymentBuilder().withNewMetadata().withName("armature-worker-" + role).endMetadata()
                    .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "worker-" + role).endSelector()
                    .withNewTemplate().withNewMetadata().addToLabels("app", "worker-" + role).endMetadata()
                    .withNewSpec().addNewContainer().withName("worker").withImage("armature:test").withArgs("worker", "--role=" + role).endContainer()
                    .endSpec().endTemplate().endSpec().build();
            client.apps().deployments().inNamespace(NS).resource(d).create();
        }
        podOf("prefill-a", "worker-prefill");
        podOf("decode-a", "worker-decode");
        BlockingQueue<String> exited = new LinkedBlockingQueue<>();
        try (KubernetesConnector k = new KubernetesConnector(client, NS,
                Map.of(Pool.PREFILL, "armature-worker-prefill", Pool.DECODE, "armature-worker-decode"))) {
            k.listen(exited::add);
            List<String> decode = k.start(Pool.DECODE, 2);
            assertThat(decode).allSatisfy(id -> assertThat(id).startsWith("#decode-"));
            assertThat(replicasOf("armature-worker-decode")).isEqualTo(3);
            assertThat(replicasOf("armature-worker-prefill")).as("the other pool is left alone").isEqualTo(1);
            assertThat(k.start(Pool.PREFILL, 1)).singleElement().satisfies(id -> assertThat(id).startsWith("#prefill-"));
            assertThat(replicasOf("armature-worker-prefill")).isEqualTo(2);
            assertThat(replicasOf("armature-worker-decode")).isEqualTo(3);

            // Draining the prefill worker marks its pod and lowers only the prefill replicas.
            k.stop(Pool.PREFILL, "prefill-a", true);
            assertThat(replicasOf("armature-worker-prefill")).isEqualTo(1);
            assertThat(replicasOf("armature-worker-decode")).isEqualTo(3);
            assertThat(client.pods().inNamespace(NS).withName("prefill-a").get().getMetadata().getAnnotations())
                    .containsEntry(KubernetesConnector.DELETION_COST, String.valueOf(Integer.MIN_VALUE));
            assertThat(client.pods().inNamespace(NS).withName("decode-a").get().getMetadata().getAnnotations()).isNullOrEmpty();
            // Each pool's pods are watched: a decode pod and the prefill pod going are both reported.
            client.pods().inNamespace(NS).withName("decode-a").delete();
            assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo("decode-a");
            client.pods().inNamespace(NS).withName("prefill-a").delete();
            assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo("prefill-a");

            // The autoscaler over both pools: a placeholder of one pool is taken by that pool's pod only.
            Autoscaler a = new Autoscaler(new ai.armature.planner.QueueThresholdPolicy(1, 4), k, ai.armature.planner.PlannerConfig.defaults(),
                    List.of(Pool.PREFILL, Pool.DECODE), 600);
            assertThat(a.demand(Pool.PREFILL, 0)).isEqualTo(1);
            assertThat(replicasOf("armature-worker-prefill")).isEqualTo(2);
            assertThat(replicasOf("armature-worker-decode")).isEqualTo(3);
            a.registered("decode-b", Pool.DECODE, 1);
            assertThat(a.fleet(Pool.PREFILL).starting()).as("a decode pod does not take a prefill placeholder").isEqualTo(1);
            a.registered("prefill-b", Pool.PREFILL, 1);
            assertThat(a.fleet(Pool.PREFILL)).isEqualTo(new ai.armature.planner.PoolFleet(1, 0, 0));
            assertThat(a.fleet(Pool.DECODE)).isEqualTo(new ai.armature.planner.PoolFleet(1, 0, 0));
        }
    }

    static void podOf(String name, String app) {
        client.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(name).addToLabels("app", app).endMetadata().build())
                .create();
    }

    static int replicasOf(String deployment) {
        return client.apps().deployments().inNamespace(NS).withName(deployment).get().getSpec().getReplicas();
    }

    @Test
    void aMissingDeploymentIsRefusedWithTheFix() {
        assertThatThrownBy(() -> new KubernetesConnector(client, NS, Map.of(Pool.DECODE, "nope")))
                .hasMessageContaining("Deployment armature/nope (the decode pool) does not exist").hasMessageContaining("deploy/kubernetes");
    }
}
