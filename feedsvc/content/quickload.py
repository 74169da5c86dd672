"""A marshmallow schema's load without its per-field bookkeeping, for input it accepts.

``Schema.load`` wraps every field (a closure, an error store, partial and unknown handling)
and costs about as much again as the fields' own work: a third of loading a post's front
matter. ``QuickLoad`` calls each field's ``deserialize`` as ``Schema.load`` does, in the same
order, and gives the same dict; anything a field refuses, and any key the schema does not
know, goes through ``Schema.load`` itself, so every error is marshmallow's, as it always was.

Only for a schema with no hooks (``pre_load``, ``post_load``, ``validates``,
``validates_schema``), no ``data_key`` or ``attribute``: a test checks the post schema and
the schemas it nests (``QuickNested``: an event, an author, an attachment).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, missing


class QuickLoad:
    """``load(data)``: ``schema.load(data)``, its fields called directly when the data is a dict they all accept."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.fields = tuple(schema.load_fields.items())
        self.names = frozenset(schema.load_fields)
        #: A field read from another key or stored under another name, a schema loading many or
        #: partial data, another dict class: Schema.load every time.
        self.plain = (
            all(f.data_key is None and f.attribute is None for _, f in self.fields)
            and not schema.many
            and not schema.partial
            and schema.dict_class is dict
        )

    def load(self, data: Any) -> Any:
        """What ``schema.load(data)`` returns; raises what it raises."""
        out = self.accepted(data)
        return self.schema.load(data) if out is None else out  # refused: the errors as marshmallow gathers and words them

    def accepted(self, data: Any) -> dict[str, Any] | None:
        """What ``schema.load(data)`` returns when every field accepts ``data``, else None (nothing raised)."""
        if not self.plain or type(data) is not dict or not data.keys() <= self.names:
            return None
        out: dict[str, Any] = {}
        try:
            for name, field in self.fields:
                value = field.deserialize(data.get(name, missing), name, data)
                if value is not missing:
                    out[name] = value
        except ValidationError:
            return None
        return out


class QuickNested(fields.Nested):
    """``fields.Nested`` of one object, its schema's fields called directly (``QuickLoad``) when they accept it.

    Anything else (a refusal, an unknown key, a list, a partial load, an ``unknown`` of its own) is ``fields.Nested``'s
    own deserialisation, errors and all.
    """

    _quick: QuickLoad | None = None

    def _deserialize(self, value: Any, attr: str | None, data: Any, partial: Any = None, **kwargs: Any) -> Any:
        if partial is None and self.unknown is None and not self.many and type(value) is dict:
            if self._quick is None:
                self._quick = QuickLoad(self.schema)
            out = self._quick.accepted(value)
            if out is not None:
                return out
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)
