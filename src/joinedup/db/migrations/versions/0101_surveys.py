"""surveys: rounds, invitations, responses, answers, themes

Revision ID: 0101_surveys
Revises: 0001_platform
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0101_surveys"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("surveys",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("collaboration_id", sa.Integer(), nullable=True),
        sa.Column("instrument_key", sa.String(length=60), nullable=False),
        sa.Column("instrument_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("access", sa.String(length=20), nullable=False),
        sa.Column("open_token", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("results_cache", sa.JSON(), nullable=True),
        sa.Column("results_version", sa.Integer(), nullable=False),
        sa.Column("answers_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collaboration_id"], ["collaborations.id"],
                                name=op.f("fk_survey_rounds_collaboration_id_collaborations"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"],
                                name=op.f("fk_survey_rounds_place_id_places"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_rounds")),
        sa.UniqueConstraint("open_token", name=op.f("uq_survey_rounds_open_token")),
    )
    op.create_index(op.f("ix_survey_rounds_place_id"), "survey_rounds", ["place_id"])
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["survey_rounds.id"],
                                name=op.f("fk_survey_invitations_round_id_survey_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("token", name=op.f("uq_survey_invitations_token")),
    )
    op.create_index(op.f("ix_survey_invitations_round_id"), "survey_invitations", ["round_id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("resume_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["survey_invitations.id"],
                                name=op.f("fk_survey_responses_invitation_id_survey_invitations"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["round_id"], ["survey_rounds.id"],
                                name=op.f("fk_survey_responses_round_id_survey_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
        sa.UniqueConstraint("resume_key", name=op.f("uq_survey_responses_resume_key")),
    )
    op.create_index(op.f("ix_survey_responses_round_id"), "survey_responses", ["round_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("coding", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["survey_responses.id"],
                                name=op.f("fk_survey_answers_response_id_survey_responses"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("response_id", "question_key",
                            name=op.f("uq_survey_answers_response_id")),
    )
    op.create_index(op.f("ix_survey_answers_response_id"), "survey_answers", ["response_id"])
    op.create_table(
        "survey_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["survey_rounds.id"],
                                name=op.f("fk_survey_themes_round_id_survey_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_themes")),
        sa.UniqueConstraint("round_id", "key", name=op.f("uq_survey_themes_round_id")),
    )
    op.create_index(op.f("ix_survey_themes_round_id"), "survey_themes", ["round_id"])
    op.create_table(
        "survey_theme_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["answer_id"], ["survey_answers.id"],
                                name=op.f("fk_survey_theme_codes_answer_id_survey_answers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["theme_id"], ["survey_themes.id"],
                                name=op.f("fk_survey_theme_codes_theme_id_survey_themes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_theme_codes")),
        sa.UniqueConstraint("answer_id", "theme_id",
                            name=op.f("uq_survey_theme_codes_answer_id")),
    )
    op.create_index(op.f("ix_survey_theme_codes_answer_id"), "survey_theme_codes",
                    ["answer_id"])
    op.create_index(op.f("ix_survey_theme_codes_theme_id"), "survey_theme_codes", ["theme_id"])


def downgrade() -> None:
    op.drop_table("survey_theme_codes")
    op.drop_table("survey_themes")
    op.drop_table("survey_answers")
    op.drop_table("survey_responses")
    op.drop_table("survey_invitations")
    op.drop_table("survey_rounds")
