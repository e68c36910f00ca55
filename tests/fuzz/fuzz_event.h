/* The event targets' common half (fuzz_event.c). */
#ifndef CONSENTD_FUZZ_EVENT_H
#define CONSENTD_FUZZ_EVENT_H

#include "event/event.h"
#include "fuzz.h"

/* Validates ev under the daemon's default policy at a fixed "now" and, if it is accepted,
 * checks everything the daemon then does with it (JSON view, pseudonyms, canonical bytes).
 * ev stays the caller's; validation rewrites it in canonical form and pseudonymisation
 * replaces its identifiers, as in the daemon. */
void fuzz_event_check(Consentd__V1__Event *ev);

#endif
