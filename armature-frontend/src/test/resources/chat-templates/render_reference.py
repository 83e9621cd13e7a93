#!/usr/bin/env python3
"""Renders conversations.json with the Qwen3 chat template of the shared fixtures under Jinja2 as Hugging Face transformers configures it
(trim_blocks, lstrip_blocks, loop controls, tojson with ensure_ascii=False, raise_exception), after the message
preprocessing OpenAI-compatible servers apply (assistant tool-call arguments given as JSON text become objects, a
null content becomes empty text), and writes the reference prompts to expected/. ToolTemplatesTest compares
Armature's prompts with them. Run from this directory: python3 render_reference.py PATH/TO/shared/fixtures"""
import json
import sys
from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    return e


def preprocess(messages):
    out = []
    for m in messages:
        m = json.loads(json.dumps(m))
        if m.get("content") is None:
            m["content"] = ""
        for call in m.get("tool_calls") or []:
            f = call.get("function", {})
            if isinstance(f.get("arguments"), str):
                f["arguments"] = json.loads(f["arguments"])
        out.append(m)
    return out


def main():
    fixtures = Path(sys.argv[1])
    qwen3 = json.loads((fixtures / "tokenizers/hf/qwen3/tokenizer_config.json").read_text())
    templates = {
        "qwen3": (qwen3["chat_template"], "", "<|im_end|>"),
    }
    cases = json.loads(Path("conversations.json").read_text())
    for case, body in cases.items():
        for name, (src, bos, eos) in templates.items():
            if "templates" in body and name not in body["templates"]:
                continue
            ctx = dict(body.get("chat_template_kwargs") or {})
            ctx.update(messages=preprocess(body["messages"]), tools=body.get("tools"), add_generation_prompt=True,
                       bos_token=bos, eos_token=eos)
            text = env().from_string(src).render(**ctx)
            Path("expected", name + "." + case + ".txt").write_text(text)
            print("wrote", name, case, len(text))


main()
