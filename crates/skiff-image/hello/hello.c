/* The program of skiff's built-in hello-world image. No libc: two raw x86_64 system
 * calls (write, exit), so the static binary is a few hundred bytes and needs nothing
 * from the image but itself. Built by build.rs with: -static -nostdlib -Os. */

static const char message[] =
    "\n"
    "Hello from skiff!\n"
    "This message shows that skiff is installed and can run containers.\n"
    "\n"
    "To show you this, skiff:\n"
    " 1. found the \"hello-world\" image, which ships inside the skiff binary,\n"
    "    and imported it into its image store (no network needed);\n"
    " 2. unpacked the image's layer once, and mounted it read-only under a\n"
    "    fresh writable layer of the container's own (overlayfs);\n"
    " 3. started the container in new namespaces and a cgroup of its own,\n"
    "    running /hello, the program that printed this text;\n"
    " 4. passed its output to your terminal, and removed the container when it\n"
    "    exited (--rm).\n"
    "\n"
    "Something more ambitious: a shell in a container\n"
    " $ skiff run -it busybox sh\n"
    "\n"
    "All commands:\n"
    " $ skiff --help\n"
    "\n";

static long syscall3(long number, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

enum { SYS_write = 1, SYS_exit = 60, EINTR = 4 };

__attribute__((noreturn)) void _start(void) {
    const char *p = message;
    long left = sizeof(message) - 1;
    int status = 0;
    while (left > 0) {
        long n = syscall3(SYS_write, 1, (long)p, left);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            status = 1;
            break;
        }
        p += n;
        left -= n;
    }
    syscall3(SYS_exit, status, 0, 0);
    __builtin_unreachable();
}
