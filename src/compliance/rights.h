/* The data-rights request lifecycle: which stage may follow which, and the register row (one per
 * request_id) that the projection stores, updated one ledger event at a time. Pure: days are
 * passed in, nothing is read from a clock, a file or the database.
 *
 * Lawful transitions (anything else is refused, naming the current state):
 *
 *   none              -> received
 *   received          -> identity_verified | extended | fulfilled | denied | withdrawn
 *   identity_verified -> extended | fulfilled | denied | withdrawn
 *   extended          -> identity_verified | fulfilled | denied | withdrawn
 *   fulfilled, denied, withdrawn: final, nothing follows
 *
 * - received opens a request and only that; it never repeats (a retry of the same event is
 *   absorbed earlier by its event_id, so a second received is a different, conflicting event).
 * - No stage repeats itself: a second identity_verified in a row records nothing new.
 * - extended -> identity_verified is lawful: waiting for proof of identity is a common reason
 *   to extend. Identity verification is not required before fulfilled or denied (an objection
 *   to direct marketing needs none; a request may be denied because identity could not be
 *   verified).
 * - extended happens at most once per request, also with identity_verified in between
 *   (already_extended carries that history). The extension must be recorded on or before the
 *   original due date (see deadline.h); rights_apply enforces that, rights_transition cannot.
 * - A reason is required for extended and denied; event validation enforces it, the machine
 *   assumes it.
 */
#ifndef CONSENTD_RIGHTS_H
#define CONSENTD_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/deadline.h"
#include "consentd.pb-c.h"

/* The states carry the numbers of the Stage that leads into them. */
enum rights_state {
	RIGHTS_NONE = 0, /* no event yet */
	RIGHTS_RECEIVED = CONSENTD__V1__STAGE__STAGE_RECEIVED,
	RIGHTS_IDENTITY_VERIFIED = CONSENTD__V1__STAGE__STAGE_IDENTITY_VERIFIED,
	RIGHTS_EXTENDED = CONSENTD__V1__STAGE__STAGE_EXTENDED,
	RIGHTS_FULFILLED = CONSENTD__V1__STAGE__STAGE_FULFILLED,
	RIGHTS_DENIED = CONSENTD__V1__STAGE__STAGE_DENIED,
	RIGHTS_WITHDRAWN = CONSENTD__V1__STAGE__STAGE_WITHDRAWN,
};

/* "none", "received", "identity_verified", "extended", "fulfilled", "denied", "withdrawn" (the
 * event JSON's stage names); NULL for a value outside the enum. */
const char *rights_state_name(enum rights_state s);
/* The state named name, or -EINVAL. */
int rights_state_from_name(const char *name, enum rights_state *out);
/* True for fulfilled, denied and withdrawn. */
bool rights_state_final(enum rights_state s);

/* Whether an event with stage (a Consentd__V1__Stage) may follow state from; already_extended
 * says an extended stage was accepted earlier for this request. Returns 0 with *to set, or
 * -EINVAL with a message naming the current state in why (whylen > 0): the HTTP layer answers
 * it as 409 invalid_transition. */
int rights_transition(enum rights_state from, int stage, bool already_extended,
		      enum rights_state *to, char *why, size_t whylen);

/* Longest request_id, in bytes (the event validation limit). */
#define RIGHTS_REQUEST_ID_MAX 128
/* A day that has not happened (not extended, still open). */
#define RIGHTS_NO_DAY INT64_MIN

/* One row of the data-rights register, self-contained (no pointers to free). */
struct rights_row {
	char request_id[RIGHTS_REQUEST_ID_MAX + 1];
	int right;			      /* Consentd__V1__Right, fixed at receipt */
	const struct deadline_policy *policy; /* static, fixed at receipt; NULL before */
	enum rights_state state;
	bool extended;
	int64_t received_day;
	int64_t due_day;	   /* original due date, rolled by the calendar */
	int64_t extended_due_day;  /* RIGHTS_NO_DAY unless extended */
	int64_t closed_day;	   /* day of the final stage; RIGHTS_NO_DAY while open */
	enum rights_state outcome; /* fulfilled, denied or withdrawn once closed; else none */
	bool on_time;		   /* closed on or before rights_row_due(); false while open */
};

/* What rights_apply needs from the configuration (borrowed). */
struct rights_context {
	const char *default_jurisdiction;	  /* NULL or "": "gdpr" */
	const struct deadline_calendar *calendar; /* NULL: due dates are not rolled */
};

/* An empty row: state none, every day RIGHTS_NO_DAY. */
void rights_row_init(struct rights_row *row);

/*
 * Applies one data-rights event, recorded on day (a civil day that the ledger entry itself holds,
 * so that a rebuild from the ledger computes the same row), to row: the row of ev->request_id, or
 * an empty one for its first event. The receipt fixes the request_id, right and policy (the
 * event's jurisdiction, else ctx->default_jurisdiction) and the due date; extended sets the
 * extended due date; a final stage sets closed day, outcome and on_time.
 * Returns 0, or leaves row unchanged and returns, with a message in why:
 *   -EINVAL  the stage may not follow the current state, or the event contradicts the request
 *            (other request_id, right or jurisdiction; a day before receipt): 409
 *   -ETIME   an extension recorded after the original due date, or under a policy without one
 *   -ENOENT  an unknown jurisdiction at receipt
 */
int rights_apply(struct rights_row *row, const Consentd__V1__DataRightsEvent *ev, int64_t day,
		 const struct rights_context *ctx, char *why, size_t whylen);

/* The due date in force: the extended one if extended, else the original; RIGHTS_NO_DAY before
 * receipt. */
int64_t rights_row_due(const struct rights_row *row);
/* True if the request is still open and today is past its due date. */
bool rights_row_overdue(const struct rights_row *row, int64_t today);

#endif
