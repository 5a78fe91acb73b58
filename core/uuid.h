/*
 * Random (version 4) UUIDs, for Delta table ids, commit txnIds, data file names and
 * checkpoint query ids: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex.
 *
 * @thread safe (getrandom).
 */
#ifndef SM_CORE_UUID_H
#define SM_CORE_UUID_H

#include "core/error.h"

#define SM_UUID_LEN 36 /* characters, without the NUL */

/* Fills out[0..36] and NUL-terminates. Fails only when getrandom does (SM_ERR_IO). */
int sm_uuid4(char out[SM_UUID_LEN + 1], sm_error *err);

#endif
