/* tnef.c - lists the attachments of a TNEF stream (MS-OXTNEF): the
 * attribute stream is walked, attAttachRendData starts an attachment,
 * attAttachTitle names it and attAttachData holds its bytes. */
#include "compat.h"

#include "tnef.h"

#define TNEF_SIGNATURE 0x223e9f78u
#define ATT_ATTACH_REND_DATA 0x00069002u
#define ATT_ATTACH_TITLE 0x00018010u
#define ATT_ATTACH_DATA 0x0006800fu
#define LVL_ATTACHMENT 2

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct pending {
	bool open;
	const char *title;
	size_t title_len;
	const unsigned char *data;
	size_t len;
};

static bool
pending_emit(struct pending *a, tnef_file_fn fn, void *arg, int *count)
{
	bool go = true;

	if (a->open && (a->data || a->title_len)) {
		go = fn(arg, a->title ? a->title : "", a->title_len, a->data, a->len);
		(*count)++;
	}
	memset(a, 0, sizeof(*a));
	return go;
}

int
tnef_list(const unsigned char *data, size_t len, tnef_file_fn fn, void *arg)
{
	size_t off = 6;
	struct pending a = { false, NULL, 0, NULL, 0 };
	int count = 0;

	if (len < 6 || le32(data) != TNEF_SIGNATURE)
		return -1;
	/* level (1), id (4), length (4), data, checksum (2) */
	while (len - off >= 11) {
		unsigned level = data[off];
		uint32_t id = le32(data + off + 1), n = le32(data + off + 5);
		const unsigned char *d = data + off + 9;

		if (n > len - off - 11)
			break;
		if (level == LVL_ATTACHMENT) {
			if (id == ATT_ATTACH_REND_DATA) {
				if (!pending_emit(&a, fn, arg, &count))
					return count;
				a.open = true;
			} else if (id == ATT_ATTACH_TITLE && a.open) {
				a.title = (const char *)d;
				a.title_len = strnlen((const char *)d, n);
			} else if (id == ATT_ATTACH_DATA && a.open) {
				a.data = d;
				a.len = n;
			}
		}
		off += 11 + (size_t)n;
	}
	pending_emit(&a, fn, arg, &count);
	return count;
}
