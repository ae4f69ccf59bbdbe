/* subject.h - the subject a verified token's payload describes, by its issuer's claim mapping */
#ifndef PDP_SUBJECT_H
#define PDP_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json_doc.h"
#include "core/types.h"
#include "identity/claims.h"

/*
 * Whether s (len bytes of UTF-8) may name an identity (user, group, role,
 * device, jti, client): not empty, valid UTF-8, no C0, DEL or C1 control
 * character, no invisible format character (U+00AD, U+061C, U+180E,
 * U+200B..U+200F, U+202A..U+202E, U+2060..U+206F, U+FEFF) anywhere, no
 * Unicode White_Space (U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000) at either end. What fails here
 * would reach the upstream rewritten (nginx and proxies strip control bytes,
 * trim() in JS, Python and .NET strips Unicode spaces), or look like another
 * name, as a different identity than the one the policies judged.
 */
bool identity_name_ok(const char *s, size_t len);

/* NumericDate (RFC 7519 §2) v into *out: 0, or -1 when v is not one. */
int numeric_date_read(const struct jdoc_val *v, int64_t *out);

enum subject_err { SUBJECT_OK, SUBJECT_BAD_CLAIM, SUBJECT_NO_MEMORY };

/*
 * The subject the verified payload describes by mapping m: the mapped claims
 * type-checked and copied into one allocation with the issuer's name,
 * valid until exp + leeway. On SUBJECT_OK *out is the caller's to free();
 * otherwise why (may be NULL) names the claim at fault.
 */
enum subject_err subject_build(const struct claim_map *m, const char *issuer, size_t issuer_len,
                               int64_t leeway, const struct jdoc *payload, int64_t iat, int64_t exp,
                               struct subject **out, char *why, size_t whysz);

#endif
