"""Services: the only way to change data. Each takes a unit of work and runs one transaction."""
from engine.services.audit_log import list_audit_logs  # noqa: F401
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
from engine.services.conflicts import find_conflicts, suggest_alternatives  # noqa: F401
from engine.services.dayops import (  # noqa: F401
    check_in,
    check_out,
    list_checkin_rules,
    release_no_shows,
    set_checkin_rule,
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
    update_resource,
    update_zone,
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
from engine.services.users import (  # noqa: F401
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
