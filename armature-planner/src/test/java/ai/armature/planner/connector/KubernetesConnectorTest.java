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

    @Test
    void aMissingDeploymentIsRefusedWithTheFix() {
        assertThatThrownBy(() -> new KubernetesConnector(client, NS, Map.of(Pool.DECODE, "nope")))
                .hasMessageContaining("Deployment armature/nope (the decode pool) does not exist").hasMessageContaining("deploy/kubernetes");
    }
}
