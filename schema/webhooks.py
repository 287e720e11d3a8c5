"""Webhooks of system integrations: registerWebhook, webhookDeliveries (docs/changes.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import RowMapping

from resolvers import webhooks
from schema.changes import ChangeCategory
from schema.connections import First, Info
from schema.ids import encode_id
from schema.inputs import expect_id
from schema.mutations.common import UserError, UserErrorCode


@strawberry.type(description="An endpoint that receives notices of changes (ids only).")
class WebhookInfo:
    id: strawberry.ID = strawberry.field(description="Global id of the webhook.")
    url: str = strawberry.field(description="Where notices are POSTed.")
    categories: list[ChangeCategory] = strawberry.field(
        description="The kinds of data it serves (empty: all)."
    )
    active: bool = strawberry.field(description="Whether notices are sent.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_row(cls, row: RowMapping) -> WebhookInfo:
        return cls(
            id=strawberry.ID(encode_id("Webhook", row["id"])),
            url=row["url"],
            categories=[ChangeCategory(c) for c in row["categories"]],
            active=row["active"],
            created_at=row["created_at"],
        )


@strawberry.type(description="What registerWebhook returns.")
class RegisterWebhookPayload:
    webhook: WebhookInfo | None = strawberry.field(description="The registered webhook.")
    secret: str | None = strawberry.field(
        description="The HMAC-SHA256 key of its signatures. Shown once: store it now."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why it was refused; empty when it succeeded."
    )


@strawberry.input(description="A webhook to register.")
class RegisterWebhookInput:
    url: str = strawberry.field(description="The http(s) URL to POST notices to.")
    categories: list[ChangeCategory] | None = strawberry.field(
        default=None, description="Only changes of these kinds of data (null: all)."
    )
    care_unit_hsa_ids: list[str] | None = strawberry.field(
        default=None,
        description="Only patients with a current care relationship at one of these units "
        "(null: every patient).",
    )


@strawberry.type(description="One POST of change notices, and how it went.")
class WebhookDeliveryInfo:
    id: strawberry.ID = strawberry.field(
        description="The delivery id (X-Vardkedja-Delivery): the same on every retry."
    )
    status: str = strawberry.field(description="pending, delivered or failed.")
    attempts: int = strawberry.field(description="POSTs made so far.")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last POST.")
    last_error: str | None = strawberry.field(description="Why the last POST failed.")
    next_attempt_at: datetime = strawberry.field(description="When it is tried next (pending).")
    created_at: datetime = strawberry.field(description="When it was queued.")
    delivered_at: datetime | None = strawberry.field(description="When the receiver took it.")
    notices: int = strawberry.field(description="How many change notices it carries.")

    @classmethod
    def from_row(cls, row: RowMapping) -> WebhookDeliveryInfo:
        return cls(
            id=strawberry.ID(str(row["id"])),
            status=row["status"],
            attempts=row["attempts"],
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
            notices=len(row["payload"].get("changes", [])),
        )


async def register_webhook(
    info: Info,
    input: Annotated[RegisterWebhookInput, strawberry.argument(description="The webhook.")],
) -> RegisterWebhookPayload:
    result = await webhooks.register(
        info.context,
        input.url,
        [str(c.value) for c in input.categories or []],
        input.care_unit_hsa_ids or [],
    )
    errors = [
        UserError(field=f, code=UserErrorCode(code.value), message=m)
        for f, code, m in result.problems
    ]
    return RegisterWebhookPayload(
        webhook=WebhookInfo.from_row(result.row) if result.row is not None else None,
        secret=result.secret,
        user_errors=errors,
    )


async def webhook_deliveries(
    info: Info,
    webhook_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only this webhook's; null: all the caller's webhooks."),
    ] = None,
    first: First = 20,
) -> list[WebhookDeliveryInfo]:
    hook = None if webhook_id is None else expect_id(webhook_id, "Webhook", field="webhookId")
    rows = await webhooks.deliveries(info.context, hook, first)
    return [WebhookDeliveryInfo.from_row(r) for r in rows]


@strawberry.type(description="Webhook mutations (mixed into Mutation).")
class WebhookMutation:
    register_webhook: RegisterWebhookPayload = strawberry.mutation(
        resolver=register_webhook,
        description="Register an endpoint for notices of changes (system integrations only): "
        "signed POSTs of ids and a cursor, at least once, retried with back-off. The receiver "
        "fetches the rows through the API under its own rights.",
    )


@strawberry.type(description="Webhook queries (mixed into Query).")
class WebhookQuery:
    webhook_deliveries: list[WebhookDeliveryInfo] = strawberry.field(
        resolver=webhook_deliveries,
        description="The deliveries of the caller's webhooks (or of one), newest first (system "
        "integrations only).",
    )
