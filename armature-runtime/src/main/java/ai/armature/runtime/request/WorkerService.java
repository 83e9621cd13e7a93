package ai.armature.runtime.request;

import ai.armature.runtime.proto.EngineStats;
import ai.armature.runtime.proto.FetchKvRequest;
import ai.armature.runtime.proto.KvChunk;
import ai.armature.runtime.proto.ReleaseKvReply;
import ai.armature.runtime.proto.ReleaseKvRequest;
import ai.armature.runtime.proto.GenerateEvent;
import ai.armature.runtime.proto.GenerateRequest;
import ai.armature.runtime.proto.KvCacheSnapshot;
import ai.armature.runtime.proto.SnapshotRequest;
import ai.armature.runtime.proto.StatsRequest;
import ai.armature.runtime.proto.TokenizerChunk;
import ai.armature.runtime.proto.TokenizerRequest;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;

/**
 * The method descriptors of the {@code armature.v1.Worker} gRPC service declared in runtime.proto (written out
 * here rather than generated: they are a few lines of configuration, and the build then needs no native code
 * generator plugin).
 */
final class WorkerService {

    static final String NAME = "armature.v1.Worker";

    /** Trailer naming why a worker refused a request (a {@link ai.armature.protocol.RequestRejectedException.Reason}). */
    static final Metadata.Key<String> REJECT_REASON = Metadata.Key.of("armature-reject-reason", Metadata.ASCII_STRING_MARSHALLER);

    static final MethodDescriptor<GenerateRequest, GenerateEvent> GENERATE = MethodDescriptor.<GenerateRequest, GenerateEvent>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "Generate"))
            .setRequestMarshaller(ProtoUtils.marshaller(GenerateRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(GenerateEvent.getDefaultInstance()))
            .build();

    static final MethodDescriptor<StatsRequest, EngineStats> STATS = MethodDescriptor.<StatsRequest, EngineStats>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "Stats"))
            .setRequestMarshaller(ProtoUtils.marshaller(StatsRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(EngineStats.getDefaultInstance()))
            .build();

    static final MethodDescriptor<SnapshotRequest, KvCacheSnapshot> SNAPSHOT = MethodDescriptor.<SnapshotRequest, KvCacheSnapshot>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "Snapshot"))
            .setRequestMarshaller(ProtoUtils.marshaller(SnapshotRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(KvCacheSnapshot.getDefaultInstance()))
            .build();

    static final MethodDescriptor<TokenizerRequest, TokenizerChunk> TOKENIZER = MethodDescriptor.<TokenizerRequest, TokenizerChunk>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "Tokenizer"))
            .setRequestMarshaller(ProtoUtils.marshaller(TokenizerRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(TokenizerChunk.getDefaultInstance()))
            .build();

    static final MethodDescriptor<FetchKvRequest, KvChunk> FETCH_KV = MethodDescriptor.<FetchKvRequest, KvChunk>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "FetchKv"))
            .setRequestMarshaller(ProtoUtils.marshaller(FetchKvRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(KvChunk.getDefaultInstance()))
            .build();

    static final MethodDescriptor<ReleaseKvRequest, ReleaseKvReply> RELEASE_KV = MethodDescriptor.<ReleaseKvRequest, ReleaseKvReply>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, "ReleaseKv"))
            .setRequestMarshaller(ProtoUtils.marshaller(ReleaseKvRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(ReleaseKvReply.getDefaultInstance()))
            .build();

    private WorkerService() {
    }
}
