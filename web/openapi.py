"""The OpenAPI 3 document of the app, built from the configured limits so it never drifts."""

from __future__ import annotations

from typing import Any

from web.config import Limits

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json_body(_ref("Error"), description)


_EXTRACT_ERRORS = {
    "400": _error("Invalid JSON, or a missing, mistyped, unknown or empty field"),
    "413": _error("Request body larger than the limit"),
    "422": _error("A passage, question or list longer than its limit"),
    "502": _error("The model server answered with an unexpected error"),
    "503": _error("The model server is unreachable or serves no model version"),
    "504": _error("The model server did not answer within the deadline"),
}


def _schemas(limits: Limits) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    options = {
        "top_k": {
            "type": "integer",
            "minimum": 1,
            "maximum": limits.max_top_k,
            "description": "most answers to return (default: the model's, usually 5)",
        },
        "min_score": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": (
                "strict cut: drop every answer scoring below this (default: the model's tuned "
                "min_score and fallback)"
            ),
        },
    }
    question = text | {
        "maxLength": limits.max_question_chars,
        "description": "not only whitespace",
    }
    passage = text | {
        "maxLength": limits.max_passage_chars,
        "description": "not only whitespace; long passages are read window by window",
    }
    prediction_properties = {
        "answer_type": {"type": "string", "enum": ["span", "yes", "no", "none"]},
        "answers": {
            "type": "array",
            "items": _ref("Answer"),
            "description": "best first; empty unless answer_type is span",
        },
    }
    return {
        "ExtractRequest": {
            "type": "object",
            "required": ["question", "passage"],
            "additionalProperties": False,
            "properties": {"question": question, "passage": passage} | options,
        },
        "BatchRequest": {
            "type": "object",
            "required": ["items"],
            "additionalProperties": False,
            "properties": {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": limits.max_items,
                    "items": _ref("ExtractRequest"),
                }
            },
            "description": f"passages of all items together: at most "
            f"{limits.max_request_chars} characters",
        },
        "QuestionsRequest": {
            "type": "object",
            "required": ["passage", "questions"],
            "additionalProperties": False,
            "properties": {
                "passage": passage,
                "questions": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": limits.max_items,
                    "items": question,
                },
            }
            | options,
            "description": f"passage length times questions: at most "
            f"{limits.max_request_chars} characters",
        },
        "Answer": {
            "type": "object",
            "required": ["text", "start", "end", "score"],
            "properties": {
                "text": {"type": "string"},
                "start": {"type": "integer", "minimum": 0},
                "end": {"type": "integer", "minimum": 0},
                "score": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "description": "passage[start:end] == text; offsets count Unicode code points "
            "(Python str indices; in JavaScript index Array.from(passage)), end exclusive",
        },
        "Prediction": {
            "type": "object",
            "required": ["answer_type", "answers"],
            "properties": prediction_properties,
        },
        "Model": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"type": "string"}, "version": {"type": "integer"}},
        },
        "ExtractResponse": {
            "type": "object",
            "required": ["answer_type", "answers", "model", "took_ms"],
            "properties": prediction_properties
            | {"model": _ref("Model"), "took_ms": {"type": "number"}},
        },
        "BatchResponse": {
            "type": "object",
            "required": ["results", "model", "took_ms"],
            "properties": {
                "results": {"type": "array", "items": _ref("Prediction")},
                "model": _ref("Model"),
                "took_ms": {"type": "number"},
            },
        },
        "QuestionsResponse": {
            "type": "object",
            "required": ["results", "model", "took_ms"],
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            _ref("Prediction"),
                            {
                                "type": "object",
                                "required": ["question"],
                                "properties": {"question": {"type": "string"}},
                            },
                        ]
                    },
                },
                "model": _ref("Model"),
                "took_ms": {"type": "number"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
    }


def _extract_operation(summary: str, request: str, response: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref(request)}}},
            "responses": {"200": _json_body(_ref(response), "Answers")} | _EXTRACT_ERRORS,
        }
    }


def openapi_document(limits: Limits) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Reading-comprehension extraction",
            "version": "1",
            "description": "Ask questions of Chinese passages; get answer spans with offsets "
            "into the passage. Request bodies are UTF-8 JSON of at most "
            f"{limits.max_body_bytes} bytes.",
        },
        "paths": {
            "/v1/extract": _extract_operation(
                "Answer one question about one passage", "ExtractRequest", "ExtractResponse"
            ),
            "/v1/extract/batch": _extract_operation(
                "Answer many (question, passage) items; results in item order",
                "BatchRequest",
                "BatchResponse",
            ),
            "/v1/extract/questions": _extract_operation(
                "Ask many questions of one passage; results in question order",
                "QuestionsRequest",
                "QuestionsResponse",
            ),
            "/healthz": {
                "get": {
                    "summary": "The process is up",
                    "responses": {"200": _json_body(_ref("Status"), "Up")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The model server answers and a model version is loaded",
                    "responses": {
                        "200": _json_body(_ref("Status"), "Ready"),
                        "503": _error("Not ready; the message says why"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/": {
                "get": {
                    "summary": "A page to try the API by hand",
                    "responses": {
                        "200": {
                            "description": "HTML page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document",
                            "content": {JSON: {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _schemas(limits)},
    }
