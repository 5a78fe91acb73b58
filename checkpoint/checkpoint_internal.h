/*
 * Shared between checkpoint/checkpoint.c (the directory, the logs, the recovery rule) and
 * checkpoint/checkpoint_entry.c (the file format: framing, checksum, JSON of each entry).
 * Not for use outside checkpoint/.
 */
#ifndef SM_CHECKPOINT_INTERNAL_H
#define SM_CHECKPOINT_INTERNAL_H

#include <jansson.h>

#include "checkpoint/checkpoint.h"
#include "core/buf.h"

/* What a corrupt-file message tells the user to do. */
#define CKPT_ADVICE_DAMAGED                                                                        \
    "restore it from a backup, or delete the checkpoint directory to start over (the pipeline "    \
    "then re-reads from its starting_offsets)"
#define CKPT_ADVICE_FOREIGN                                                                        \
    "this directory is not a smelter checkpoint: give the pipeline a checkpoint directory of its " \
    "own"

/* The largest entry file read back (an offsets entry of thousands of partitions is ~100 KB). */
#define CKPT_MAX_ENTRY_BYTES ((size_t)64 << 20)

/* Sets SM_ERR_CORRUPT: "<path>: <detail>; <advice>". Returns SM_ERR_CORRUPT. */
int ckpt_corrupt(sm_error *err, const char *path, const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "v1\n" + compact JSON of `body` + "\ncrc32c:<8 hex>\n", appended to `out`. */
int ckpt_frame_json(const json_t *body, sm_buf *out, sm_error *err);

/* Checks the framing and the checksum of a whole file and parses its JSON object (caller
 * json_decref's *body_out). Errors are SM_ERR_CORRUPT naming `path`, with `advice` appended for
 * damage; a newer format says to upgrade instead. */
int ckpt_parse_file(const char *path, const char *data, size_t len, const char *advice,
                    json_t **body_out, sm_error *err);

/* Canonical JSON of an entry (sources, partitions and tables sorted). An invalid entry is
 * SM_ERR_INTERNAL naming the field. */
int ckpt_offsets_to_json(const sm_ckpt_offsets *e, json_t **out, sm_error *err);
int ckpt_commit_to_json(const sm_ckpt_commit *e, json_t **out, sm_error *err);

/* Checks the fields of a parsed entry and copies it into `arena`. `batch_id` is the number in
 * the file name, which the entry must repeat. */
int ckpt_offsets_from_json(const char *path, const json_t *body, int64_t batch_id, sm_arena *arena,
                           sm_ckpt_offsets **out, sm_error *err);
int ckpt_commit_from_json(const char *path, const json_t *body, int64_t batch_id, sm_arena *arena,
                          sm_ckpt_commit **out, sm_error *err);

/* The metadata file: {"id", "format", "created", "writer"}. */
int ckpt_metadata_to_json(const char *id, int64_t created_ms, json_t **out, sm_error *err);
int ckpt_metadata_from_json(const char *path, const json_t *body, char id_out[37],
                            int64_t *created_out, sm_error *err);

/* State blobs: "v1\ncrc32c:<8 hex> length:<n>\n" + the bytes. */
int ckpt_frame_state(const void *data, size_t len, sm_buf *out, sm_error *err);
/* Checks a whole state file; on success *off_out is where the payload starts in `data`. */
int ckpt_parse_state(const char *path, const char *data, size_t len, size_t *off_out,
                     size_t *payload_len_out, sm_error *err);

#endif
