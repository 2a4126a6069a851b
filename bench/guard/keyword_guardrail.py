"""The keyword guardrail LiteLLM's proxy runs in bench/guard: the same 10,000 terms as assay's
guard, matched with ahocorasick_rs (the fastest Aho-Corasick for Python) on lowercased text,
on the prompt before the call and on the streamed answer as it passes (a 256-character window
carries terms across chunks). A hit raises, which is how a LiteLLM guardrail blocks."""
import os

import ahocorasick_rs
from litellm.integrations.custom_guardrail import CustomGuardrail

with open(os.environ["BENCH_TERMS"], encoding="utf-8") as f:
    TERMS = [line.strip().lower() for line in f if line.strip()]
MATCHER = ahocorasick_rs.AhoCorasick(TERMS)


class KeywordGuardrail(CustomGuardrail):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        for message in data.get("messages") or []:
            content = message.get("content")
            if isinstance(content, str) and MATCHER.find_matches_as_indexes(content.lower()):
                raise ValueError("blocked by the keyword guardrail")
        return data

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        window = ""
        async for item in response:
            for choice in getattr(item, "choices", None) or []:
                delta = getattr(choice, "delta", None)
                text = getattr(delta, "content", None) if delta is not None else None
                if text:
                    window = (window + text.lower())[-256:]
                    if MATCHER.find_matches_as_indexes(window):
                        raise ValueError("blocked by the keyword guardrail")
            yield item
