/* diag.c: diagnostics in the form `file:line:col: error: message`, followed
 * by the source line and a caret under the offending range, and the "did you
 * mean" suggestions. Lines and columns are computed only when printing. */
#include <string.h>

#include "fe_internal.h"

/* Line index (0-based) holding byte `off`. */
static int line_of(const FeSource *s, uint32_t off)
{
    int lo = 0, hi = s->nlines - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (s->lines[mid] <= off) lo = mid; else hi = mid - 1;
    }
    return lo;
}

/* Prints the source line of `loc` and a caret line under its range. Long
 * lines are shown as a window around the caret. */
static void print_caret(FILE *out, const FeSource *s, Loc loc)
{
    if (loc.start > s->size) loc.start = (uint32_t)s->size;
    if (loc.end > s->size) loc.end = (uint32_t)s->size;
    int line = line_of(s, loc.start);
    uint32_t ls = s->lines[line];
    uint32_t le = ls;
    while (le < s->size && s->text[le] != '\n') le++;
    uint32_t caret_end = loc.end > le ? le : loc.end;
    if (caret_end <= loc.start) caret_end = loc.start + 1;
    /* window of at most 120 bytes containing the caret start */
    uint32_t ws = ls, we = le;
    if (we - ws > 120) {
        ws = loc.start > ls + 40 ? loc.start - 40 : ls;
        we = ws + 120 < le ? ws + 120 : le;
    }
    fputs("    ", out);
    for (uint32_t i = ws; i < we; i++) {
        unsigned char c = (unsigned char)s->text[i];
        fputc(c == '\t' ? '\t' : (c >= 0x20 && c < 0x7f) ? c : '?', out);
    }
    fputs("\n    ", out);
    for (uint32_t i = ws; i < we + 1 && i < caret_end; i++) {
        if (i < loc.start)
            fputc(s->text[i] == '\t' ? '\t' : ' ', out);
        else
            fputc(i == loc.start ? '^' : '~', out);
    }
    fputc('\n', out);
}

/* True when this exact error (place and text) was already reported: an error
 * inside a primitive used by many edges is reported once. */
static bool seen_before(FeCtx *fe, Loc loc, const char *msg)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = msg; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h ^= ((uint64_t)(uint32_t)loc.file << 40) ^ ((uint64_t)loc.start << 20) ^ loc.end;
    for (int i = 0; i < fe->nseen; i++)
        if (fe->seen[i] == h) return true;
    if (fe->nseen < (int)(sizeof fe->seen / sizeof fe->seen[0])) fe->seen[fe->nseen++] = h;
    return false;
}

void fe_diag(FeCtx *fe, DiagKind kind, Loc loc, const char *fmt, ...)
{
    FILE *out = fe->opt.diag_out;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kind == DIAG_ERROR && seen_before(fe, loc, msg)) {
        fe->last_shown = false;
        return;
    }
    if (kind == DIAG_ERROR) {
        fe->errors++;
        if (fe->stop_reporting) { fe->last_shown = false; return; }
        if (fe->errors > fe->opt.max_errors) {
            fprintf(out, "sharpc: too many errors (%d); stopping here\n", fe->opt.max_errors);
            fe->stop_reporting = true;
            fe->last_shown = false;
            return;
        }
        fe->last_shown = true;
    } else if (kind == DIAG_NOTE && !fe->last_shown) {
        return;
    }
    const char *word = kind == DIAG_ERROR ? "error" : kind == DIAG_WARNING ? "warning" : "note";
    const FeSource *s = (loc.file >= 0 && loc.file < fe->nfiles) ? &fe->files[loc.file] : NULL;
    if (s) {
        uint32_t off = loc.start > s->size ? (uint32_t)s->size : loc.start;
        int line = line_of(s, off);
        fprintf(out, "%s:%d:%u: %s: ", s->path, line + 1, off - s->lines[line] + 1, word);
    } else {
        fprintf(out, "sharpc: %s: ", word);
    }
    fputs(msg, out);
    fputc('\n', out);
    if (s) print_caret(out, s, loc);
}

/* Edit distance between a and b, capped at 64 characters each. */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int prev[65], cur[65];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

const char *fe_suggest(const char *name, const char *const *cands, int n)
{
    const char *best = NULL;
    int best_d = 1000;
    int len = (int)strlen(name);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        if (!cands[i]) continue;
        int d = edit_distance(name, cands[i]);
        if (d < best_d) { best_d = d; best = cands[i]; }
    }
    return best_d <= limit ? best : NULL;
}
