/* replay.c -- runs a fuzz target over every file of a stored corpus, so
 * ctest exercises each fuzzer's inputs (and past crashers) on every build,
 * with or without libFuzzer. Usage: fuzz_<format>_replay <corpus-dir>.
 * Fails if the directory is missing or holds no files: a corpus that
 * silently vanished would otherwise make the test pass vacuously. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file; returns a new buffer (free it) or NULL. */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    DIR *dir = opendir(argv[1]);
    if (!dir) {
        fprintf(stderr, "%s: cannot open corpus directory %s\n", argv[0], argv[1]);
        return 1;
    }
    int files = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        size_t size = 0;
        uint8_t *data = slurp(path, &size);
        if (!data) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], path);
            failed++;
            continue;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        files++;
    }
    closedir(dir);
    if (files == 0) {
        fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[1]);
        return 1;
    }
    fprintf(stderr, "%s: replayed %d inputs\n", argv[0], files);
    return failed ? 1 : 0;
}
