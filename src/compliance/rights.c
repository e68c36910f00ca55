/* The data-rights state machine (a transition table, see rights.h for why each entry is lawful)
 * and the register row it maintains with the deadline arithmetic. Pure. */
#include "compliance/rights.h"
#include "event/event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define N_STATES (RIGHTS_WITHDRAWN + 1)

_Static_assert(RIGHTS_RECEIVED == 1 && RIGHTS_IDENTITY_VERIFIED == 2 && RIGHTS_EXTENDED == 3 &&
		   RIGHTS_FULFILLED == 4 && RIGHTS_DENIED == 5 && RIGHTS_WITHDRAWN == 6,
	       "rights states index the tables below");

static const char *const state_names[N_STATES] = {
    [RIGHTS_NONE] = "none",
    [RIGHTS_RECEIVED] = "received",
    [RIGHTS_IDENTITY_VERIFIED] = "identity_verified",
    [RIGHTS_EXTENDED] = "extended",
    [RIGHTS_FULFILLED] = "fulfilled",
    [RIGHTS_DENIED] = "denied",
    [RIGHTS_WITHDRAWN] = "withdrawn",
};

#define TO(s) (1u << (s))
#define CLOSE (TO(RIGHTS_FULFILLED) | TO(RIGHTS_DENIED) | TO(RIGHTS_WITHDRAWN))

/* allowed[from] has bit s set when a stage leading to state s may follow from. */
static const unsigned allowed[N_STATES] = {
    [RIGHTS_NONE] = TO(RIGHTS_RECEIVED),
    [RIGHTS_RECEIVED] = TO(RIGHTS_IDENTITY_VERIFIED) | TO(RIGHTS_EXTENDED) | CLOSE,
    [RIGHTS_IDENTITY_VERIFIED] = TO(RIGHTS_EXTENDED) | CLOSE,
    [RIGHTS_EXTENDED] = TO(RIGHTS_IDENTITY_VERIFIED) | CLOSE,
    [RIGHTS_FULFILLED] = 0,
    [RIGHTS_DENIED] = 0,
    [RIGHTS_WITHDRAWN] = 0,
};

static int fail(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const char *right_name(int right)
{
	const char *n = event_right_name(right);

	return n ? n : "unspecified";
}

static int fail(char *why, size_t whylen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *rights_state_name(enum rights_state s)
{
	return (unsigned)s < N_STATES ? state_names[s] : NULL;
}

int rights_state_from_name(const char *name, enum rights_state *out)
{
	unsigned i;

	for (i = 0; name && i < N_STATES; i++) {
		if (!strcmp(name, state_names[i])) {
			*out = (enum rights_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool rights_state_final(enum rights_state s)
{
	return s == RIGHTS_FULFILLED || s == RIGHTS_DENIED || s == RIGHTS_WITHDRAWN;
}

int rights_transition(enum rights_state from, int stage, bool already_extended,
		      enum rights_state *to, char *why, size_t whylen)
{
	const char *cur = rights_state_name(from);

	if (!to)
		return fail(why, whylen, -EINVAL, "no place for the next state");
	if (!cur)
		return fail(why, whylen, -EINVAL, "request is in an unknown state %d", (int)from);
	if (stage <= (int)RIGHTS_NONE || stage >= N_STATES)
		return fail(why, whylen, -EINVAL, "request is %s; stage %d is unknown", cur, stage);
	if (rights_state_final(from))
		return fail(why, whylen, -EINVAL, "request is %s, a final state; %s may not follow",
			    cur, state_names[stage]);
	if (from == RIGHTS_NONE && stage != RIGHTS_RECEIVED)
		return fail(
		    why, whylen, -EINVAL,
		    "request is none (no event yet); its first stage must be received, not %s",
		    state_names[stage]);
	if (stage == RIGHTS_EXTENDED && (already_extended || from == RIGHTS_EXTENDED))
		return fail(
		    why, whylen, -EINVAL,
		    "request is %s and was already extended once; it may not be extended again",
		    cur);
	if (!(allowed[from] & TO(stage)))
		return fail(why, whylen, -EINVAL, "request is %s; %s may not follow it", cur,
			    state_names[stage]);
	*to = (enum rights_state)stage;
	return 0;
}

void rights_row_init(struct rights_row *row)
{
	memset(row, 0, sizeof(*row));
	row->state = RIGHTS_NONE;
	row->outcome = RIGHTS_NONE;
	row->received_day = RIGHTS_NO_DAY;
	row->due_day = RIGHTS_NO_DAY;
	row->extended_due_day = RIGHTS_NO_DAY;
	row->closed_day = RIGHTS_NO_DAY;
}

int64_t rights_row_due(const struct rights_row *row)
{
	return row->extended ? row->extended_due_day : row->due_day;
}

bool rights_row_overdue(const struct rights_row *row, int64_t today)
{
	if (row->state == RIGHTS_NONE || rights_state_final(row->state))
		return false;
	return today > rights_row_due(row);
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* The first event of a request: fixes its identity, policy and original due date in next. */
static int open_row(struct rights_row *next, const Consentd__V1__DataRightsEvent *ev, int64_t day,
		    const struct rights_context *ctx, char *why, size_t whylen)
{
	const char *id = str_or_empty(ev->request_id);
	const char *jur = str_or_empty(ev->jurisdiction);
	size_t idlen = strlen(id);

	if (!idlen || idlen > RIGHTS_REQUEST_ID_MAX)
		return fail(why, whylen, -EINVAL, "request_id must have 1 to %d bytes",
			    RIGHTS_REQUEST_ID_MAX);
	if (deadline_policy_resolve(jur, ctx->default_jurisdiction, &next->policy))
		return fail(why, whylen, -ENOENT, "unknown jurisdiction \"%s\" (gdpr or ccpa)",
			    *jur ? jur : str_or_empty(ctx->default_jurisdiction));
	memcpy(next->request_id, id, idlen + 1);
	next->right = (int)ev->right;
	next->received_day = day;
	next->due_day = deadline_due(next->policy, day, false, ctx->calendar);
	return 0;
}

/* A later event must be about the same request as the row. */
static int check_same_request(const struct rights_row *row, const Consentd__V1__DataRightsEvent *ev,
			      int64_t day, const struct rights_context *ctx, char *why,
			      size_t whylen)
{
	const char *cur = rights_state_name(row->state);
	const struct deadline_policy *p;
	const char *jur = str_or_empty(ev->jurisdiction);

	if (strcmp(row->request_id, str_or_empty(ev->request_id)))
		return fail(why, whylen, -EINVAL,
			    "event of request \"%s\" applied to request \"%s\"",
			    str_or_empty(ev->request_id), row->request_id);
	if ((int)ev->right != row->right)
		return fail(why, whylen, -EINVAL,
			    "request is %s for right %s; the event names right %s", cur,
			    right_name(row->right), right_name((int)ev->right));
	if (*jur && (deadline_policy_find(jur, &p) || p != row->policy))
		return fail(why, whylen, -EINVAL,
			    "request is %s under %s; the event names jurisdiction \"%s\"", cur,
			    row->policy->name, jur);
	if (day < row->received_day)
		return fail(why, whylen, -EINVAL,
			    "request is %s; the event is dated before receipt", cur);
	return 0;
}

int rights_apply(struct rights_row *row, const Consentd__V1__DataRightsEvent *ev, int64_t day,
		 const struct rights_context *ctx, char *why, size_t whylen)
{
	static const struct rights_context no_ctx = {NULL, NULL};
	struct rights_row next;
	enum rights_state to;
	char due[DEADLINE_DAY_STR_LEN + 1];
	int rc;

	if (!row || !ev)
		return fail(why, whylen, -EINVAL, "no row or no event");
	if (!ctx)
		ctx = &no_ctx;
	rc = rights_transition(row->state, (int)ev->stage, row->extended, &to, why, whylen);
	if (rc)
		return rc;
	/* Work on a copy so that a refused event leaves the row as it was. */
	next = *row;
	rc = row->state == RIGHTS_NONE ? open_row(&next, ev, day, ctx, why, whylen)
				       : check_same_request(row, ev, day, ctx, why, whylen);
	if (rc)
		return rc;
	if (to == RIGHTS_EXTENDED) {
		if (!next.policy->extension)
			return fail(why, whylen, -ETIME, "request is %s; %s allows no extension",
				    rights_state_name(row->state), next.policy->name);
		if (!deadline_extension_in_time(next.policy, next.received_day, day,
						ctx->calendar)) {
			deadline_day_format(next.due_day, due);
			return fail(why, whylen, -ETIME,
				    "request is %s; an extension must be recorded by the original "
				    "due date %s under %s",
				    rights_state_name(row->state), due, next.policy->name);
		}
		next.extended = true;
		next.extended_due_day =
		    deadline_due(next.policy, next.received_day, true, ctx->calendar);
	}
	if (rights_state_final(to)) {
		next.closed_day = day;
		next.outcome = to;
		next.on_time = deadline_on_time(rights_row_due(&next), day);
	}
	next.state = to;
	*row = next;
	return 0;
}
