package ai.armature.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * N simulated users, each holding a conversation of T turns through {@code /v1/chat/completions}. Every turn sends
 * the whole history so far (an optional shared system prompt, then alternating user messages and the assistant
 * replies the server actually streamed) plus a new user message, so prompts grow turn by turn and a server with
 * prefix caching reuses the history. Users pause for the think time between a reply and their next turn.
 */
public final class MultiTurnWorkload implements Workload {

    private final long seed;
    private final int users;
    private final int turns;
    private final int userTokens;
    private final int osl;
    private final int systemTokens;
    private final long thinkTimeNanos;
    private final PromptText text;
    private final String systemPrompt;
    private int nextUser;

    /**
     * @param userTokens   tokens of each new user message
     * @param systemTokens tokens of a system prompt shared by all users (0 for none)
     */
    public MultiTurnWorkload(long seed, int users, int turns, int userTokens, int osl, int systemTokens,
                             long thinkTimeNanos, PromptText text) {
        if (users < 1 || turns < 1 || userTokens < 1 || osl < 1) {
            throw new IllegalArgumentException("--users, --turns, --isl and --osl must all be at least 1");
        }
        this.seed = seed;
        this.users = users;
        this.turns = turns;
        this.userTokens = userTokens;
        this.osl = osl;
        this.systemTokens = systemTokens;
        this.thinkTimeNanos = thinkTimeNanos;
        this.text = text;
        this.systemPrompt = systemTokens > 0
                ? PromptText.words(seed, (1L << 41), text.wordsForPiece(systemTokens)).substring(1) : null;
    }

    @Override
    public synchronized Conversation next() {
        if (nextUser >= users) {
            return null;
        }
        return new UserConversation(nextUser++);
    }

    private final class UserConversation implements Conversation {
        private final int user;
        private final List<ChatMessage> history = new ArrayList<>();
        private int turn;
        private int requestedSoFar;

        UserConversation(int user) {
            this.user = user;
            if (systemPrompt != null) {
                history.add(new ChatMessage("system", systemPrompt));
                requestedSoFar = systemTokens;
            }
        }

        @Override
        public RequestSpec next(String previousReply) {
            if (turn >= turns) {
                return null;
            }
            if (turn > 0) {
                history.add(new ChatMessage("assistant", previousReply == null ? "" : previousReply));
                requestedSoFar += osl;
            }
            long id = (1L << 42) + (long) user * 65_536 + turn;
            history.add(new ChatMessage("user", PromptText.words(seed, id, text.wordsForPiece(userTokens)).substring(1)));
            requestedSoFar += userTokens;
            String tag = "user-" + user + "/turn-" + turn;
            turn++;
            return RequestSpec.chat(history, osl, requestedSoFar, tag);
        }

        @Override
        public long thinkTimeNanos() {
            return thinkTimeNanos;
        }
    }

    @Override
    public Endpoint endpoint() {
        return Endpoint.CHAT;
    }

    @Override
    public boolean usesReplies() {
        return true;
    }

    @Override
    public long totalRequests() {
        return (long) users * turns;
    }

    @Override
    public String describe() {
        return "multi-turn users=" + users + " turns=" + turns + " user-tokens=" + userTokens + " osl=" + osl
                + " think-time=" + (thinkTimeNanos / 1e9) + "s" + (systemTokens > 0 ? " system=" + systemTokens : "");
    }
}
