"""Services: the only way to change data. Each takes a unit of work and runs one transaction.

Pages and routes import this package only (`from engine import services`) and call
`services.<name>`: every service and result type they use is exported here, so the import
style is the same everywhere and a module can move without touching its callers."""
from engine.services.approval_queue import (  # noqa: F401
    BatchApproval,
    QueueItem,
    QueuePage,
    approve_clear,
    pending_requests,
)
from engine.services.audit_log import audit_names, list_audit_logs  # noqa: F401
from engine.services.board import Board, BoardBooking, BoardRow, range_board  # noqa: F401
from engine.services.bookings import (  # noqa: F401
    BookingFilter,
    approve_booking,
    bump_booking,
    cancel_booking,
    deny_booking,
    get_booking,
    list_bookings,
    request_booking,
    reschedule_booking,
)
from engine.services.calendar import (  # noqa: F401
    CalendarBar,
    CalendarBlackout,
    CalendarView,
    calendar_view,
)
from engine.services.conflicts import find_conflicts, suggest_alternatives  # noqa: F401
from engine.services.dayops import (  # noqa: F401
    check_in,
    check_out,
    list_checkin_rules,
    release_no_shows,
    set_checkin_rule,
)
from engine.services.displace import bump_together  # noqa: F401
from engine.services.feeds import (  # noqa: F401
    FeedView,
    IssuedFeed,
    calendar_feed,
    create_feed,
    list_feeds,
    renew_feed,
    revoke_feed,
)
from engine.services.member_requests import RequestCheck, check_request, edit_request  # noqa: F401
from engine.services.notifications import (  # noqa: F401
    OUTBOX_STATUSES,
    OutboxView,
    PreferenceView,
    get_preferences,
    list_outbox,
    outbox_counts,
    retry_message,
    set_preferences,
)
from engine.services.password_reset import (  # noqa: F401
    request_password_reset,
    reset_password_with_token,
)
from engine.services.policies import (  # noqa: F401
    ApproverView,
    PolicyView,
    delete_policy,
    get_effective_policy,
    list_approvers,
    list_policies,
    policy_history,
    set_approvers,
    set_policy,
)
from engine.services.reporting import (  # noqa: F401
    approval_rate,
    approval_turnaround,
    bookings_per_day,
    bumps_and_cancellations,
    conflict_rate,
    report_figures,
    report_version,
    utilization,
)
from engine.services.resources import (  # noqa: F401
    create_blackout,
    create_resource,
    create_zone,
    deactivate_resource,
    delete_blackout,
    get_resource,
    list_blackouts,
    list_resource_types,
    list_resources,
    list_zones,
    set_resource_active,
    update_resource,
    update_zone,
)
from engine.services.results import (  # noqa: F401
    AuditView,
    BlackoutView,
    BookingView,
    ConflictReport,
    Page,
    ResourceView,
    Suggestion,
    UserView,
    ZoneView,
)
from engine.services.series import (  # noqa: F401
    approve_series,
    cancel_series,
    deny_series,
    get_series,
    preview_series,
    request_series,
    series_queue,
)
from engine.services.sessions import (  # noqa: F401
    live_session,
    open_session,
    require_live_session,
    revoke_session,
    session_user,
)
from engine.services.users import (  # noqa: F401
    REGISTRATION_RECEIVED,
    authenticate,
    change_password,
    change_role,
    deactivate_user,
    get_user,
    list_users,
    reactivate_user,
    register_member,
    register_user,
    reset_password,
    sign_out_everywhere,
    update_user,
)
from engine.services.waitlist import (  # noqa: F401
    accept_offer,
    decline_offer,
    expire_offers,
    join_waitlist,
    leave_waitlist,
    list_waitlist,
)
