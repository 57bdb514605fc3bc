"""Initial schema: the architecture's four tables plus safety zones and blackouts.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 12:34:13.117199
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('safety_zones',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_zones')),
    sa.UniqueConstraint('name', name=op.f('uq_safety_zones_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('user', 'staff', 'admin', name='user_role', native_enum=False,
        create_constraint=True, length=50), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('idx_users_role', ['role'], unique=False)

    op.create_table('resources',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('safety_zone_id', sa.Uuid(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('opens_at', sa.Time(), nullable=True),
    sa.Column('closes_at', sa.Time(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.CheckConstraint('(opens_at IS NULL) = (closes_at IS NULL)',
        name=op.f('ck_resources_hours_both_or_neither')),
    sa.CheckConstraint('opens_at IS NULL OR closes_at > opens_at',
        name=op.f('ck_resources_hours_order')),
    sa.ForeignKeyConstraint(['safety_zone_id'], ['safety_zones.id'],
        name=op.f('fk_resources_safety_zone_id_safety_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index('idx_resources_type', ['resource_type'], unique=False)
        batch_op.create_index('ix_resources_safety_zone_id', ['safety_zone_id'], unique=False)

    op.create_table('blackouts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_blackouts_valid_time_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
        name=op.f('fk_blackouts_created_by_id_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
        name=op.f('fk_blackouts_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blackouts'))
    )
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.create_index('ix_blackouts_resource_start', ['resource_id', 'start_time'],
            unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'denied', 'cancelled', 'bumped',
        name='booking_status', native_enum=False, create_constraint=True, length=50),
            nullable=False),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bumped_by_booking_id', sa.Uuid(), nullable=True),
    sa.Column('conflict_at_request', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_bookings_valid_time_range')),
    sa.CheckConstraint('priority >= 0 AND priority <= 10', name=op.f('ck_bookings_priority_range')),
    sa.ForeignKeyConstraint(['bumped_by_booking_id'], ['bookings.id'],
        name=op.f('fk_bookings_bumped_by_booking_id_bookings')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
        name=op.f('fk_bookings_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'],
        name=op.f('fk_bookings_requester_id_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
        name=op.f('fk_bookings_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('idx_bookings_requester', ['requester_id'], unique=False)
        batch_op.create_index('idx_bookings_resource', ['resource_id'], unique=False)
        batch_op.create_index('idx_bookings_status', ['status'], unique=False)
        batch_op.create_index('idx_bookings_time', ['start_time', 'end_time'], unique=False)
        batch_op.create_index('ix_bookings_resource_status_end', ['resource_id', 'status',
            'end_time'], unique=False)
        batch_op.create_index('ix_bookings_status_start', ['status', 'start_time'], unique=False)

    op.create_table('audit_logs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('previous_state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
        'postgresql'), nullable=True),
    sa.Column('timestamp', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'),
        nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=True),
    sa.Column('entity_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_logs_actor_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'],
        name=op.f('fk_audit_logs_booking_id_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_logs'))
    )
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('idx_audit_actor', ['actor_id'], unique=False)
        batch_op.create_index('idx_audit_booking', ['booking_id'], unique=False)
        batch_op.create_index('idx_audit_timestamp', ['timestamp'], unique=False)
        batch_op.create_index('ix_audit_logs_entity', ['entity_type', 'entity_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_logs_entity')
        batch_op.drop_index('idx_audit_timestamp')
        batch_op.drop_index('idx_audit_booking')
        batch_op.drop_index('idx_audit_actor')

    op.drop_table('audit_logs')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_status_start')
        batch_op.drop_index('ix_bookings_resource_status_end')
        batch_op.drop_index('idx_bookings_time')
        batch_op.drop_index('idx_bookings_status')
        batch_op.drop_index('idx_bookings_resource')
        batch_op.drop_index('idx_bookings_requester')

    op.drop_table('bookings')
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.drop_index('ix_blackouts_resource_start')

    op.drop_table('blackouts')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index('ix_resources_safety_zone_id')
        batch_op.drop_index('idx_resources_type')

    op.drop_table('resources')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('idx_users_role')

    op.drop_table('users')
    op.drop_table('safety_zones')
