"""Build the example domain: landscape.ttl (knowledge graph) and landscape.sqlite (numbers).

Facts and figures come from the documents the project started from (a 2024 survey of
open LLMs, a 2023 comparison of open models with MMLU/HumanEval/GSM8K scores, and a 2025
overview with prices per 1M tokens). The descriptions are our own words. Values missing
from those sources are left empty (NULL), never guessed.

Run from anywhere:  python examples/llm-landscape/build.py
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = "https://example.org/llm/"

DEVELOPERS = {
    "OpenAI": ("OpenAI", "US company that builds the GPT series and sells access to it through a hosted API."),
    "Anthropic": ("Anthropic", "US company that builds the Claude models, known for long context windows and safety research."),
    "Meta": ("Meta AI", "Meta's research group; publishes the Llama family with downloadable weights."),
    "MistralAI": ("Mistral AI", "Paris-based company releasing small, efficient models, several under Apache 2.0, and hosted larger ones."),
    "TII": ("Technology Innovation Institute", "Abu Dhabi research institute behind the Falcon models."),
    "MosaicML": ("MosaicML", "Training-platform company, later part of Databricks, that released the MPT models."),
    "Alibaba": ("Alibaba Cloud", "Chinese cloud provider that builds the Qwen models, strong in Chinese and English."),
    "Cohere": ("Cohere", "Canadian company focused on enterprise retrieval and the Command models."),
    "Microsoft": ("Microsoft Research", "Microsoft's research lab, maker of the small Phi models."),
    "GoogleDeepMind": ("Google DeepMind", "Google's AI lab, maker of Gemini (hosted) and Gemma (open weights)."),
    "xAI": ("xAI", "Company that released the very large Grok-1 model openly in March 2024."),
    "Upstage": ("Upstage", "Korean company that built SOLAR by depth up-scaling a smaller model."),
    "HuggingFace": ("Hugging Face", "Platform and research team hosting open models; authors of Zephyr and SmolLM."),
}

LICENSES = {
    "Apache-2.0": ("Apache 2.0", True, "Permissive open-source licence: commercial use, modification and redistribution allowed with attribution."),
    "MIT": ("MIT", True, "Short permissive licence allowing any use as long as the copyright notice is kept."),
    "LlamaCommunity": ("Llama Community License", False, "Meta's licence for Llama weights: free for most uses, with limits for very large services and an acceptable-use policy."),
    "FalconTII": ("Falcon-180B TII License", False, "TII's own licence for Falcon 180B, based on Apache 2.0 but restricting hosted-service use."),
    "Qianwen": ("Qianwen License", False, "Alibaba's licence for Qwen weights; commercial use above a user threshold needs a separate agreement."),
    "GemmaTerms": ("Gemma Terms of Use", False, "Google's terms for Gemma weights: open download, with use restrictions."),
    "CohereNC": ("Cohere non-commercial open-weight licence", False, "Weights may be downloaded for research; commercial use goes through Cohere's API."),
    "Proprietary": ("Proprietary", False, "No weights are published; the model is reached only through the vendor's API."),
}

# key: name, developer, licence, open weights, params (B), active params (B), context, release,
#      description, based_on, MMLU, HumanEval, GSM8K, $/1M in, $/1M out, quality index, tokens/s
MODELS = [
    ("GPT-4", "GPT-4", "OpenAI", "Proprietary", False, None, None, 128000, "2023-03",
     "OpenAI's flagship model of 2023 and the usual reference point in benchmark tables.", None, 86.4, 67.0, 92.0, None, None, None, None),
    ("GPT-4o", "GPT-4o", "OpenAI", "Proprietary", False, None, None, 128000, "2024-05",
     "Multimodal OpenAI model handling text, images and code, offered at about half GPT-4's API price.", None, None, None, None, 2.5, 10.0, 0.75, 378.89),
    ("GPT-3.5-Turbo", "GPT-3.5 Turbo", "OpenAI", "Proprietary", False, None, None, 16384, "2023-03",
     "Fast, inexpensive OpenAI chat model that powered the first ChatGPT wave.", None, 70.0, 48.1, 57.1, 0.5, 1.5, 0.40, 363.71),
    ("Claude-2", "Claude 2", "Anthropic", "Proprietary", False, None, None, 100000, "2023-07",
     "Anthropic model with a 100K-token window, used for reading long documents.", None, None, None, None, None, None, None, None),
    ("Claude-2.1", "Claude 2.1", "Anthropic", "Proprietary", False, None, None, 200000, "2023-11",
     "Successor of Claude 2 that doubled the context window to 200K tokens.", None, None, None, None, None, None, None, None),
    ("Claude-3.7-Sonnet", "Claude 3.7 Sonnet", "Anthropic", "Proprietary", False, None, None, 200000, "2024-10",
     "Anthropic model aimed at software work: writing and debugging code and step-by-step reasoning.", None, None, None, None, None, None, None, None),
    ("Gemini-2.0-Pro", "Gemini 2.0 Pro", "GoogleDeepMind", "Proprietary", False, None, None, 128000, "2024-12",
     "Google's hosted reasoning model, integrated with Google Cloud.", None, None, None, None, None, None, None, None),
    ("Llama-2-70B-Chat", "Llama 2 70B Chat", "Meta", "LlamaCommunity", True, 70, None, 4096, "2023-07",
     "Largest chat-tuned Llama 2 model; a common open baseline for instruction following.", None, 68.9, 29.9, 56.8, None, None, None, None),
    ("Llama-3.2-11B", "Llama 3.2 11B", "Meta", "LlamaCommunity", True, 11, None, None, None,
     "Mid-sized Llama 3.2 model with high throughput and a low price on hosted endpoints.", None, None, None, None, 0.37, 0.37, 0.43, 384.16),
    ("Llama-4-Scout", "Llama 4 Scout", "Meta", "LlamaCommunity", True, None, None, 128000, "2025-03",
     "Llama 4 generation model with downloadable weights and a long context window.", None, None, None, None, None, None, None, None),
    ("Mistral-7B-Instruct", "Mistral 7B Instruct", "MistralAI", "Apache-2.0", True, 7, None, 8192, "2023-09",
     "Small open model that is quick and cheap to serve, and a popular base for fine-tunes.", None, 60.1, 30.5, 52.2, None, None, None, None),
    ("Mixtral-8x7B-Instruct", "Mixtral 8x7B Instruct", "MistralAI", "Apache-2.0", True, 46.7, 12.9, 32768, "2023-12",
     "Sparse mixture-of-experts model: only a few experts run per token, so it serves like a much smaller model.", None, 70.6, 40.2, 60.4, None, None, None, None),
    ("Mixtral-8x22B", "Mixtral 8x22B", "MistralAI", "Apache-2.0", True, None, None, 32768, "2025-01",
     "Larger mixture-of-experts sibling of Mixtral 8x7B, also under Apache 2.0.", None, None, None, None, None, None, None, None),
    ("Mistral-Large", "Mistral Large", "MistralAI", "Proprietary", False, None, None, None, None,
     "Mistral AI's top hosted model, close to GPT-4o in quality at a lower price.", None, None, None, None, 2.0, 6.0, 0.74, 182.31),
    ("Falcon-180B-Chat", "Falcon 180B Chat", "TII", "FalconTII", True, 180, None, 2048, "2023-09",
     "Very large open model with a short 2K context window and its own licence.", None, 70.4, None, None, None, None, None, None),
    ("Falcon-40B", "Falcon 40B", "TII", "Apache-2.0", True, 40, None, 2048, "2023-06",
     "Earlier Falcon model under Apache 2.0, favoured for cost-sensitive public-sector work.", None, None, None, None, None, None, None, None),
    ("MPT-7B", "MPT-7B", "MosaicML", "Apache-2.0", True, 7, None, 65536, "2023-06",
     "Small Apache-licensed model; its StoryWriter variant reads 65K tokens.", None, None, None, None, None, None, None, None),
    ("Qwen-72B-Chat", "Qwen 72B Chat", "Alibaba", "Qianwen", True, 72, None, 32768, "2023-11",
     "Bilingual Chinese-English chat model with a 32K window and good tool use.", None, 74.4, 35.4, 61.3, None, None, None, None),
    ("Command-R-Plus", "Command R+", "Cohere", "CohereNC", True, None, None, 128000, "2024-04",
     "Retrieval-oriented enterprise model with a 128K window and published weights.", None, None, None, None, None, None, None, None),
    ("Phi-2", "Phi-2", "Microsoft", "MIT", True, 2.7, None, 2048, "2023-12",
     "Tiny model for edge devices and simple chatbots.", None, None, None, None, None, None, None, None),
    ("Phi-3-Medium", "Phi-3 Medium", "Microsoft", "MIT", True, 14, None, None, None,
     "Mid-sized Phi model with the lowest input price in our price list.", None, None, None, None, 0.17, 0.68, 0.42, 193.3),
    ("Gemma", "Gemma", "GoogleDeepMind", "GemmaTerms", True, None, None, 8192, "2024-02",
     "Google's open-weight family for custom pipelines and on-device use.", None, None, None, None, None, None, None, None),
    ("Grok-1", "Grok-1", "xAI", "Apache-2.0", True, 314, None, None, "2024-03",
     "314-billion-parameter model whose weights xAI published under Apache 2.0.", None, None, None, None, None, None, None, None),
    ("SOLAR-10.7B", "SOLAR 10.7B", "Upstage", "Apache-2.0", True, 10.7, None, None, None,
     "Built by depth up-scaling, then instruction- and alignment-tuned; beats Llama 2 and Mistral 7B on many NLP tasks.", None, None, None, None, None, None, None, None),
    ("Zephyr-7B", "Zephyr 7B", "HuggingFace", "MIT", True, 7, None, None, None,
     "Chat fine-tune of Mistral 7B aligned with human preferences; once the top 7B model on MT-Bench.", "Mistral-7B-Instruct", None, None, None, None, None, None, None),
    ("SmolLM2-135M-Instruct", "SmolLM2 135M Instruct", "HuggingFace", "Apache-2.0", True, 0.135, None, 8192, "2024-11",
     "A 135-million-parameter model small enough to run on a laptop CPU; agentmesh's embedded default.", None, None, None, None, None, None, None, None),
]


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f'"{value}"^^xsd:decimal'
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"@en'


def turtle() -> str:
    out = [
        f"@prefix ex: <{BASE}> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
        "ex:Model a rdfs:Class ; rdfs:label \"LLM\"@en ; dcterms:description \"A large language model.\"@en .",
        "ex:Developer a rdfs:Class ; rdfs:label \"Developer\"@en ; dcterms:description \"An organisation that builds language models.\"@en .",
        "ex:License a rdfs:Class ; rdfs:label \"Licence\"@en ; dcterms:description \"The terms under which a model may be used.\"@en .",
        "ex:developer rdfs:label \"developer\"@en .",
        "ex:license rdfs:label \"license\"@en .",
        "ex:openWeights rdfs:label \"open weights\"@en .",
        "ex:parameters rdfs:label \"parameters (billions)\"@en .",
        "ex:activeParameters rdfs:label \"active parameters (billions)\"@en .",
        "ex:contextWindow rdfs:label \"context window (tokens)\"@en .",
        "ex:released rdfs:label \"released\"@en .",
        "ex:basedOn rdfs:label \"based on\"@en .",
        "ex:osiApproved rdfs:label \"OSI-approved open source\"@en .",
        "",
    ]
    for key, (label, text) in DEVELOPERS.items():
        out.append(f"ex:{key} a ex:Developer ; rdfs:label {_lit(label)} ; dcterms:description {_lit(text)} .")
    out.append("")
    for key, (label, osi, text) in LICENSES.items():
        out.append(f"ex:{key} a ex:License ; rdfs:label {_lit(label)} ; ex:osiApproved {_lit(osi)} ; dcterms:description {_lit(text)} .")
    out.append("")
    for (key, label, dev, lic, open_w, params, active, ctx, released, text, based, *_rest) in MODELS:
        parts = [f"ex:{key} a ex:Model", f"rdfs:label {_lit(label)}", f"dcterms:description {_lit(text)}",
                 f"ex:developer ex:{dev}", f"ex:license ex:{lic}", f"ex:openWeights {_lit(open_w)}"]
        if params is not None:
            parts.append(f"ex:parameters {_lit(float(params))}")
        if active is not None:
            parts.append(f"ex:activeParameters {_lit(float(active))}")
        if ctx is not None:
            parts.append(f"ex:contextWindow {_lit(ctx)}")
        if released:
            parts.append(f'ex:released "{released}"^^xsd:gYearMonth')
        if based:
            parts.append(f"ex:basedOn ex:{based}")
        out.append(" ;\n    ".join(parts) + " .")
    return "\n".join(out) + "\n"


SCHEMA = """
CREATE TABLE developers (id TEXT PRIMARY KEY, name TEXT NOT NULL, uri TEXT NOT NULL);
CREATE TABLE licenses (id TEXT PRIMARY KEY, name TEXT NOT NULL, osi_approved INTEGER NOT NULL, uri TEXT NOT NULL);
CREATE TABLE models (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, developer_id TEXT NOT NULL REFERENCES developers(id),
  license_id TEXT NOT NULL REFERENCES licenses(id), open_weights INTEGER NOT NULL,
  params_b REAL, active_params_b REAL, context_window INTEGER, release_month TEXT, uri TEXT NOT NULL
);
CREATE TABLE benchmarks (model_id TEXT PRIMARY KEY REFERENCES models(id), mmlu REAL, humaneval REAL, gsm8k REAL);
CREATE TABLE prices (
  model_id TEXT PRIMARY KEY REFERENCES models(id), input_per_1m_usd REAL, output_per_1m_usd REAL,
  quality_index REAL, throughput_tok_s REAL
);
"""


def build_sqlite(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO developers VALUES (?,?,?)", [(k, v[0], BASE + k) for k, v in DEVELOPERS.items()])
    db.executemany("INSERT INTO licenses VALUES (?,?,?,?)", [(k, v[0], int(v[1]), BASE + k) for k, v in LICENSES.items()])
    for (key, label, dev, lic, open_w, params, active, ctx, released, _t, _b, mmlu, he, gsm, p_in, p_out, q, tps) in MODELS:
        db.execute("INSERT INTO models VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (key, label, dev, lic, int(open_w), params, active, ctx, released, BASE + key))
        if any(v is not None for v in (mmlu, he, gsm)):
            db.execute("INSERT INTO benchmarks VALUES (?,?,?,?)", (key, mmlu, he, gsm))
        if any(v is not None for v in (p_in, p_out)):
            db.execute("INSERT INTO prices VALUES (?,?,?,?,?)", (key, p_in, p_out, q, tps))
    db.commit()
    db.execute("VACUUM")
    db.close()
    tmp.replace(path)


def main(out_dir: Path = HERE) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "landscape.ttl").write_text(turtle(), encoding="utf-8")
    build_sqlite(out_dir / "landscape.sqlite")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
