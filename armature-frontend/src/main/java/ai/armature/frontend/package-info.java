/**
 * The OpenAI-compatible HTTP frontend. Entry point: {@link ai.armature.frontend.OpenAiServer}, built from a
 * {@link ai.armature.frontend.FrontendConfig}, a {@link ai.armature.protocol.GenerationEngine} (one worker or a
 * dispatcher over several), the model's {@link ai.armature.engine.tokenizer.Tokenizer} and its
 * {@link ai.armature.engine.chat.ChatTemplate}. Requests cross to the engine as tokens; text is produced here,
 * once, by a streaming detokenizer per choice, with stop strings applied on the text.
 *
 * <p>Special tokens: a chat prompt is rendered by the template and tokenized with special tokens recognised, so the
 * template's markers become control tokens. Message text that contains a control token's text (found by scanning
 * the vocabulary once at startup) is instead tokenized piecewise (template text with, message text without special
 * tokens), which keeps clients from injecting turn markers at the cost of possibly different merges at the seams;
 * ordinary messages take the exact whole-prompt path. Completions prompts are raw model input: special-token text in
 * them is honoured.
 */
package ai.armature.frontend;
