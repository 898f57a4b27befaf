"""What an error answer means: an ordered table of rules, each learned from public sources.

A rule names the HTTP statuses it holds for (None: any), the `error.type`, `error.code`,
Azure `inner_error.code` values and a message pattern it needs (every condition given must
hold), and the reason it decides. The first rule that matches wins, so facts about the
account come first and the status fallbacks last. Each row says why in one line and cites
where it was learned: a file of the corpus of real answers (`<name>.json` in
tests/fixtures/openai_answers/), an issue, a docs page or the official SDK's source.

Messages are matched case-insensitively on text whose whitespace is folded to single spaces,
anywhere in it: clients and relays prefix `429 ` or `RateLimitError: ` and append
`(request id: …)`. A body that is not OpenAI's error envelope (an HTML page, a gateway's text)
only counts when the rule reads its words or codes, or when the rule holds for `any_body`: a
proxy's own 403 page is not OpenAI's permission answer, but a 429 is a rate limit whoever
sends it.
"""

from __future__ import annotations

import dataclasses
import re

SERVER_ERRORS = tuple(range(500, 600))
ERRORS_DOC = "https://platform.openai.com/docs/guides/error-codes/api-errors"
SDK_CLIENT = "https://github.com/openai/openai-python/blob/main/src/openai/_base_client.py"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One row of the table. `name` is stable, so a result can say which rule decided it."""

    name: str
    reason: str
    why: str
    sources: tuple[str, ...]
    statuses: tuple[int, ...] | None = None
    types: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    inner_codes: tuple[str, ...] = ()
    message: str | None = None
    any_body: bool = False
    """A rule on the status alone that holds even when the body is not the envelope."""
    provider: str = "openai"
    """Whose quirk the row exists for (openai, azure, openrouter), shown by `imagewatch
    explain`. It does not restrict the row to that kind of account: relays pass answers on
    (one-api relays Azure's bare 404, LiteLLM re-wraps OpenRouter's and Azure's errors), so
    an `openai` account behind a relay gets them too, and no row of one provider matches
    an answer another provider sends with a different meaning."""

    def __post_init__(self) -> None:
        for field in ("types", "codes", "inner_codes"):  # compared case-insensitively
            object.__setattr__(self, field, tuple(v.lower() for v in getattr(self, field)))

    def matches(
        self,
        http_status: int | None,
        error_type: str | None,
        code: str | None,
        inner_code: str | None,
        text: str,
        *,
        envelope: bool,
    ) -> bool:
        """Whether this rule decides an answer; `text` is the folded, lowercased message."""
        if self.statuses is not None and http_status not in self.statuses:
            return False
        if self.types and (error_type or "").lower() not in self.types:
            return False
        if self.codes and (code or "").lower() not in self.codes:
            return False
        if self.inner_codes and (inner_code or "").lower() not in self.inner_codes:
            return False
        if self.message is not None and not re.search(self.message, text):
            return False
        return envelope or self.any_body or self.reads_the_answer

    @property
    def reads_the_answer(self) -> bool:
        return bool(self.types or self.codes or self.inner_codes or self.message)

    def condition(self) -> str:
        """What the rule matches on, in words."""
        parts = [
            f"{label} {' | '.join(values)}"
            for label, values in (
                ("type", self.types),
                ("code", self.codes),
                ("inner_error.code", self.inner_codes),
            )
            if values
        ]
        if self.message is not None:
            parts.append(f"message ~ /{self.message}/")
        return "; ".join(parts) or ("any body" if self.any_body else "the error envelope")


_R = Rule
# fmt: off
RULES: tuple[Rule, ...] = (
    # --- Facts about the account's money: they hide under 429, 400 and 403 alike ---
    _R("quota_by_code", "insufficient_quota",
      "Out of quota comes as 429 (the SDK raises RateLimitError) but waiting never helps.",
      ("insufficient-quota-429-chatdev-399.json", "insufficient-quota-429-gpt-pilot-340.json",
       ERRORS_DOC),
      codes=("insufficient_quota",)),
    _R("quota_by_type", "insufficient_quota",
      "The type says it whatever the code: null in 2023, other codes since.",
      ("insufficient-quota-chatgptapifree-16.json", ERRORS_DOC),
      types=("insufficient_quota",)),
    _R("quota_by_message", "insufficient_quota",
      "The words, when only the message or a gateway's text survives.",
      ("insufficient-quota-429-continue-11771.json",
       "insufficient-quota-429-litellm-openhands-998.json"),
      message=r"you exceeded your current quota"),
    _R("billing_not_active_by_code", "billing_not_active",
      "Billing not set up or lapsed, under 429: one SDK retried it 7 times, in vain.",
      ("billing-not-active-429-ai-research-assistant-174.json",
       "billing-not-active-429-dataline-175.json"),
      codes=("billing_not_active",)),
    _R("billing_not_active_by_type", "billing_not_active",
      "In 2023 the code was null and only the type said so.",
      ("billing-not-active-429-chatgpt-web-1273.json",),
      types=("billing_not_active",)),
    _R("billing_not_active_by_message", "billing_not_active",
      "The words, when only the message or a gateway's text survives.",
      ("billing-not-active-429-humanify-47.json", "billing-not-active-chatbot-ui-695.json",
       "billing-not-active-429-litellm-2743.json"),
      message=r"your account is not active, please check your billing details"),
    _R("billing_hard_limit_by_code", "billing_hard_limit",
      "The hard limit's `type` has changed over time; the code has not.",
      ("billing-hard-limit-powershellai-127.json", ERRORS_DOC),
      codes=("billing_hard_limit_reached",)),
    _R("billing_hard_limit_by_message", "billing_hard_limit",
      "Came as 400 on the images endpoint, message only.",
      ("billing-hard-limit-400-aiwallpaper-2.json", "billing-hard-limit-hongbao-497.json"),
      message=r"billing hard limit has been reached"),
    _R("gateway_credits_by_code", "credits_exhausted",
      "OpenRouter refuses with 402 and the status as `code` (a number; a string once a layer "
      "re-wraps it).",
      ("openrouter-402-credits-free-claude-code-772.json",
       "openrouter-402-credits-metadata-open-assistant-80.json",
       "openrouter-402-string-code-openclaude-1305.json",
       "https://openrouter.ai/docs/api-reference/errors"),
      codes=("402",), provider="openrouter"),
    _R("gateway_credits_by_message", "credits_exhausted",
      "A 402 about credits, also when the request is only too big for the balance.",
      ("openrouter-402-max-tokens-qwen-code-73.json",),
      statuses=(402,), message=r"credits", provider="openrouter"),
    # --- The key, the organization, the project ---
    _R("key_scope_missing", "key_scope_missing",
      "A key without a scope answers 401 (403 on the Admin API) with code null; clients "
      "show it as an invalid key, but the key is valid.",
      ("key-scope-401-trae-agent-162.json", "key-scope-401-continue-10059.json",
       "key-scope-401-powertoys-32989.json", "key-scope-401-codex-oauth-pi-1913.json",
       "https://github.com/pressidium/pressidium-cookie-consent/issues/156"),
      statuses=(401, 403),
      message=r"missing scopes:|insufficient permissions for this operation"),
    _R("invalid_key_by_code", "invalid_api_key",
      "The key is unknown or revoked.",
      ("invalid-api-key-401-free-chatgpt-api-3.json", ERRORS_DOC),
      codes=("invalid_api_key",)),
    _R("invalid_key_by_message", "invalid_api_key",
      "A wrong key (any prefix: sk-proj-, sk-or-v1) or none at all, message only.",
      ("invalid-api-key-401-continue-10078.json",
       "invalid-api-key-401-openrouter-key-continue-12777.json",
       "missing-api-key-401-continue-11228.json"),
      message=r"incorrect api key provided|you didn't provide an api key"),
    _R("azure_invalid_key", "invalid_api_key",
      "Azure's key refusal: code is the string \"401\", no type.",
      ("azure-invalid-key-401-semantic-kernel-10337.json",),
      statuses=(401,), message=r"invalid subscription key", provider="azure"),
    _R("gateway_proxy_key", "invalid_api_key",
      "A LiteLLM proxy refusing its own virtual key (type token_not_found_in_db, code "
      "\"401\"): the gateway's key is wrong or revoked, whatever OpenAI's would say.",
      ("litellm-proxy-invalid-token-401-openhands-17390.json",),
      statuses=(401,), message=r"invalid proxy server token passed", provider="litellm"),
    _R("org_verification", "org_verification_required",
      "Verification refuses model use with 403 and streaming with 400 (param stream); code is "
      "null, only the message says it. Listing the model proves nothing.",
      ("org-verification-403-mulmocast-app-1090.json",
       "org-verification-403-openai-community-1361163.json",
       "org-verification-openai-php-565.json", "org-verification-openai-go-565.json",
       "org-verification-gpt-image-2-apiyi-blog.json",
       "org-verification-stream-400-crush-422.json",
       "org-verification-stream-400-openrouter-pal-mcp-134.json"),
      statuses=(400, 403), message=r"organizations? must be verified to (use|stream)"),
    _R("region_by_code", "region_blocked",
      "Blocked by the caller's (or its egress IP's) country.",
      ("region-blocked-403-home-assistant-120072.json", "region-blocked-403-continue-11449.json",
       "region-blocked-one-api-1692.json", "region-blocked-vercel-reverse-fast-49.json"),
      codes=("unsupported_country_region_territory",)),
    _R("region_by_message", "region_blocked",
      "The same refusal when only the message survives.",
      ("https://platform.openai.com/docs/supported-countries",),
      message=r"country, region, or territory not supported"),
    _R("project_allow_list_by_message", "project_model_not_allowed",
      "The project's allowed models exclude the model; the code says model_not_found, the "
      "message says the project.",
      ("project-model-403-aider-1903.json", "project-model-403-continue-10120.json",
       "project-model-403-cursor-2953.json", "project-model-403-litellm-aider-604.json",
       "https://github.com/NousResearch/hermes-agent/issues/60748"),
      statuses=(403,), message=r"project .{1,80} does not have access to model"),
    _R("project_allow_list_by_code", "project_model_not_allowed",
      "A 403 with code model_not_found is an access refusal: a missing model answers 404.",
      (ERRORS_DOC,),
      statuses=(403,), codes=("model_not_found",)),
    _R("not_allowed_to_sample", "permission_denied",
      "OpenAI's older refusal of a model the key may not use.",
      ("permission-denied-403-one-api-chatgpt-web-501.json",),
      statuses=(403,), message=r"not allowed to sample from this model"),
    _R("azure_resource_blocked", "permission_denied",
      "Azure blocks a whole resource for content-policy abuse: every request fails until it "
      "is lifted, so a failure, not a prompt refusal.",
      ("azure-resource-blocked-403-pollinations-8837.json",),
      statuses=(403,), message=r"resource has been temporarily blocked", provider="azure"),
    _R("azure_deployment_by_code", "deployment_not_found",
      "The deployment name does not exist on the resource (or is minutes old).",
      ("azure-deployment-not-found-chatbox-646.json",),
      codes=("DeploymentNotFound",), provider="azure"),
    _R("azure_deployment_by_message", "deployment_not_found",
      "The same, as the Azure SDK renders it.",
      ("azure-deployment-not-found-404-azure-docs-114013.json",),
      message=r"api deployment for this resource does not exist", provider="azure"),
    _R("azure_route_not_found", "invalid_request",
      "Azure's bare 404 for a route the api-version does not offer (images before "
      "2023-12-01-preview), not a missing deployment: the request is wrong.",
      ("azure-resource-not-found-404-okgodoit-179.json",
       "azure-resource-not-found-404-one-api-1164.json"),
      statuses=(404,), message=r"^resource not found$", provider="azure"),
    _R("azure_api_version_unsupported", "invalid_request",
      "The api_version the account sends is not served (the v1 route refuses a dated one) or "
      "is older than the deployed model needs: the account's config is wrong, which says "
      "nothing of its key, quota or deployment, so could not tell; fix api_version.",
      ("azure-api-version-not-supported-400-codex-3725.json",
       "azure-api-version-too-old-400-langchain4j-2636.json"),
      statuses=(400,), message=r"api version not supported|is enabled only for api versions",
      provider="azure"),
    # --- The model ---
    _R("model_not_found_by_code", "model_not_found",
      "The model does not exist or the organization has no access to it.",
      ("model-not-found-404-codex-imagegen-cli-18.json", ERRORS_DOC),
      statuses=(404,), codes=("model_not_found",)),
    _R("model_does_not_exist", "model_not_found",
      "Also came as 400 with code invalid_value (during an OpenAI incident): the words decide.",
      ("model-not-found-400-gpt-image-2-codex-25966.json",
       "model-not-found-400-gpt-image-2-cliproxyapi-3687.json",
       "model-not-found-404-brainrot-32.json"),
      statuses=(400, 404), message=r"the model .{1,120} does not exist"),
    _R("model_not_found_wording", "model_not_found",
      "A third wording, param model and code null.",
      ("model-not-found-llmtornado-144.json",),
      statuses=(400, 404), message=r"\bmodel not found\b"),
    # --- The Responses API's image tool ---
    _R("image_tool_refused", "responses_tool_unsupported",
      "The mainline model does not take the image_generation tool, or the account's tools "
      "were stripped of it (a forced tool_choice then names a tool that is not there).",
      ("image-tool-refused-codex-22637.json", "image-tool-choice-not-found-400-codex2api-89.json"),
      message=r"tool 'image_generation' is not supported with|"
              r"tool choice 'image_generation' not found in 'tools'"),
    # --- The probe's prompt: a refusal says nothing about access ---
    _R("moderation_by_code", "moderation_blocked",
      "GPT image models say moderation_blocked, DALL·E content_policy_violation, Azure "
      "content_filter.",
      ("moderation-blocked-400-gpt-image-2-new-api-zjt-480.json",
       "moderation-400-dalle-tipi-tapi-210.json", "azure-content-filter-400-helm-3327.json"),
      statuses=(400,), codes=("moderation_blocked", "content_policy_violation", "content_filter")),
    _R("azure_responsible_ai", "moderation_blocked",
      "Azure's image filter names itself in inner_error (also spelt innererror).",
      ("https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter",
       "https://github.com/BerriAI/litellm/issues/16072"),
      statuses=(400,), inner_codes=("ResponsibleAIPolicyViolation",), provider="azure"),
    _R("safety_system_wording", "moderation_blocked",
      "The safety system's words, when the code is lost.",
      ("moderation-400-dalle-openai-java-446.json", "moderation-400-image-clipsketch-6.json",
       "moderation-azure-dalle-3-litellm-16072.json"),
      statuses=(400,), message=r"rejected (by|as a result of) (the|our) safety system"),
    _R("content_filters_wording", "moderation_blocked",
      "DALL·E 3's second wording.",
      ("moderation-400-dalle-3-librechat-4508.json",),
      statuses=(400,), message=r"blocked by our content filters"),
    # --- The probe's request ---
    _R("invalid_parameter_wording", "invalid_request",
      "OpenAI's validation wordings: a parameter or value the model refuses.",
      ("invalid-request-400-response-format-vercel-ai-6102.json",
       "invalid-request-400-response-format-llmtornado-155.json",
       "invalid-request-400-size-gpt-image-2-jezweb-91.json",
       "invalid-request-400-transparent-sub2api-7150.json",
       "invalid-request-size-gptimage-pollinations-5037.json",
       "new-api-400-unknown-parameter-uni-api-165.json"),
      statuses=(400,),
      message=r"unknown parameter:|invalid value:|invalid size '|is not supported for this model"),
    # --- Weather ---
    _R("cloudflare_rate_limit", "rate_limited",
      "Cloudflare's own block of the egress IP, plain text; its retry-after can be 15 hours.",
      ("rate-limit-cloudflare-1015-429-lobehub-2795.json",),
      statuses=(429,), message=r"error code: 1015"),
    _R("azure_quota_rate_limit", "rate_limited",
      "Azure's per-deployment quota: \"exceeded call rate limit\" (requests) or \"token rate "
      "limit\" of the pricing tier, with the wait in words and in retry-after / "
      "retry-after-ms; weather, however long the wait.",
      ("azure-call-rate-limit-429-weaviate-3095.json", "azure-rate-limit-429-dbchatprov2-2.json",
       "azure-call-rate-limit-429-gpt-researcher-936.json",
       "azure-token-rate-limit-429-paperless-gpt-814.json",
       "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/quota"),
      message=r"exceeded (the )?(call|token) rate limit (of|for) your current .{1,60} pricing tier",
      provider="azure"),
    _R("rate_limit_by_code", "rate_limited",
      "OpenAI's code, LiteLLM's status-as-string and OpenRouter's number (even in an HTTP 200).",
      ("litellm-proxy-429-docs-error-reference.json",
       "openrouter-429-in-200-body-litellm-8448.json",
       "azure-rate-limit-headers-429-copilot-camp-551.json"),
      codes=("rate_limit_exceeded", "429")),
    _R("rate_limit_wording", "rate_limited",
      "The words, wherever the status was lost. `Limit: 0/1min` means no allowance at all.",
      ("rate-limit-images-one-api-881.json", "rate-limit-rpm-codex-10060.json",
       "rate-limit-tpm-429-micro-agent-86.json",
       "rate-limit-429-gpt-image-1-mulmocast-cli-477.json",
       "rate-limit-rpm-429-chatdev-26.json", "rate-limit-legacy-image-limits-knowledge-gpt-5.json",
       "rate-limit-images-429-chatbox-1361.json"),
      message=r"rate limit (reached|exceeded) for|exceeded (the |token )?rate limit"),
    _R("too_many_requests", "rate_limited",
      "A 429 without a billing or quota fact above is weather, whoever answered.",
      (ERRORS_DOC, SDK_CLIENT),
      statuses=(429,), any_body=True),
    _R("gateway_timeout", "timeout",
      "A proxy or the edge gave up waiting; a gpt-image-2 generation can outlast a proxy's "
      "60 s read timeout.",
      ("timeout-504-gpt-image-2-sub2api-2225.json", SDK_CLIENT),
      statuses=(408, 504), any_body=True),
    _R("server_error_by_type", "server_error",
      "OpenAI's and Cloudflare's JSON for a failure on their side.",
      ("server-error-500-chatgpt-vscode-100.json", "server-error-502-cf-bad-gateway-dspy-203.json"),
      types=("server_error", "cf_bad_gateway")),
    _R("server_error_status", "server_error",
      "Any 5xx, JSON or an edge's HTML page: could not tell, try again later.",
      ("server-error-502-html-chatgpt-telegram-bot-637.json",
       "server-error-520-cloudflare-n8n-18275.json", "server-error-500-openaibot-177.json",
       "server-error-overloaded-waggle-dance-53.json"),
      statuses=SERVER_ERRORS, any_body=True),
    # --- What the status alone says, from the envelope only ---
    _R("unauthorized", "invalid_api_key", "401 without a scope fact: the key.",
      (ERRORS_DOC,), statuses=(401,)),
    _R("payment_required", "credits_exhausted", "402 is a gateway's balance.",
      ("https://openrouter.ai/docs/api-reference/errors",), statuses=(402,)),
    _R("forbidden", "permission_denied", "403 without a fact above.",
       (ERRORS_DOC,), statuses=(403,)),
    _R("bad_request", "invalid_request", "The request was refused as it was sent.",
      (ERRORS_DOC,), statuses=(400, 409, 413, 415, 422)),
    _R("anything_else", "unexpected_response",
      "Nothing above explains it: not the contract we know.", (ERRORS_DOC,), any_body=True),
)
# fmt: on
"""The table, in the order it is tried."""
