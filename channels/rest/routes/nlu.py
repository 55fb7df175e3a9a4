"""POST /api/v1/nlu/parse."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.rest.deps import RuntimeDep

router = APIRouter(tags=["nlu"])


class ParseRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "데이트할 때 뿌릴 로맨틱한 향수 있을까요?"}]}
    )

    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is blank")
        return value


@router.post("/nlu/parse", summary="Intent, confidence, slots and language of one utterance")
async def parse(body: ParseRequest, runtime: RuntimeDep) -> Response:
    """The embedded intent role: one of recommend, product_info, compare, compose, validate,
    ingredient_info, handoff, smalltalk, off_topic; below the confidence threshold `clarify`
    holds a question to ask instead."""
    # Classification is CPU work: off the event loop.
    result = await asyncio.to_thread(runtime.nlu.parse, body.text)
    return Response(orjson.dumps({k: v for k, v in result.items() if k != "text"}), media_type="application/json")
