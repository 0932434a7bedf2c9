# gdb commands for asupersync fibers.
#
#   (gdb) source tools/asup-gdb.py
#   (gdb) asup tasks [RT]        list the tasks of a runtime
#   (gdb) asup bt TASK [RT]      backtrace of a suspended task (index or name)
#
# RT is an expression of type `asup_rt *` or `struct asup__kernel *`. Without
# it the runtime is found from the running fiber (when stopped inside a task)
# or from a variable of one of those types in the current stack.
#
# A suspended task's registers are in its context (struct asup__ctx): on
# x86-64 the stack pointer, resume address and frame pointer; on AArch64 the
# stack pointer, with x29/x30 saved at sp+80/sp+88 (src/fiber/switch_*.S);
# with the portable backend, a ucontext_t (x86-64 only here).
# `asup bt` points the selected frame's registers there, prints the
# backtrace, and puts them back.
import gdb

STATES = ["NEW", "READY", "RUNNING", "PARKED", "DONE"]
LANES = ["-", "cancel", "timed", "ready"]
PSTATES = ["created", "running", "cancel_requested", "cancelling",
           "finalizing", "completed"]


def _kernel_from_value(v):
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        target = t.target().strip_typedefs()
        name = target.name or target.tag or ""
        if name in ("asup_rt", "asup_rt_s", "asup_rt_struct") or name.endswith("asup_rt"):
            return v.dereference()["kernel"].address
        if name.endswith("asup__kernel"):
            return v
    return None


def _kernel_from_current_fiber():
    try:
        cur = gdb.parse_and_eval("asup__fiber_tls_cur")
    except gdb.error:
        return None
    if int(cur) == 0 or int(cur["is_task"]) == 0:
        return None
    task_t = gdb.lookup_type("struct asup__task")
    off = int(gdb.parse_and_eval("(long)&((struct asup__task *)0)->fiber"))
    addr = int(cur) - off
    kt = gdb.Value(addr).cast(gdb.lookup_type("struct asup__ktask").pointer())
    return kt["cx"]["k"]


def _kernel_from_frames():
    frame = gdb.newest_frame()
    while frame is not None:
        try:
            block = frame.block()
        except RuntimeError:
            block = None
        while block is not None:
            for sym in block:
                if not sym.is_variable and not sym.is_argument:
                    continue
                try:
                    k = _kernel_from_value(sym.value(frame))
                except (gdb.error, RuntimeError):
                    k = None
                if k is not None and int(k) != 0:
                    return k
            block = block.superblock
        frame = frame.older()
    return None


def find_kernel(arg):
    if arg:
        k = _kernel_from_value(gdb.parse_and_eval(arg))
        if k is None:
            raise gdb.GdbError("%s is not an asup_rt * or asup__kernel *" % arg)
        return k
    k = _kernel_from_current_fiber() or _kernel_from_frames()
    if k is None:
        raise gdb.GdbError("no runtime found: pass an asup_rt * expression")
    return k


def tasks(k):
    """Yields the live task records (struct asup__ktask *) of a kernel."""
    arena = k["tasks"]
    ktask_p = gdb.lookup_type("struct asup__ktask").pointer()
    for i in range(int(arena["len"])):
        p = arena["slot"][i]["ptr"]
        if int(p) != 0:
            yield p.cast(ktask_p)


def _name(kt):
    try:
        return kt["t"]["name"].string()
    except (gdb.error, UnicodeDecodeError):
        return "?"


class AsupPrefix(gdb.Command):
    """asupersync fiber commands: asup tasks, asup bt."""

    def __init__(self):
        super().__init__("asup", gdb.COMMAND_USER, gdb.COMPLETE_NONE, True)


class AsupTasks(gdb.Command):
    """asup tasks [RT]: list the live tasks of a runtime."""

    def __init__(self):
        super().__init__("asup tasks", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        k = find_kernel(arg.strip())
        print("%-6s %-24s %-8s %-7s %4s %-17s %s" %
              ("index", "name", "state", "lane", "prio", "protocol", "stack"))
        for kt in tasks(k):
            t = kt["t"]
            state = int(t["state"])
            lane = int(t["lane"])
            lo = int(t["fiber"]["stack_lo"])
            size = int(t["fiber"]["stack_size"])
            stack = "0x%x-0x%x" % (lo, lo + size) if lo else "-"
            print("%-6d %-24s %-8s %-7s %4d %-17s %s" % (
                int(t["index"]), _name(kt),
                STATES[state] if state < len(STATES) else str(state),
                LANES[lane] if lane < len(LANES) else str(lane),
                int(t["priority"]), PSTATES[int(kt["pstate"])], stack))


class AsupBt(gdb.Command):
    """asup bt TASK [RT]: backtrace of a suspended task (index or name)."""

    def __init__(self):
        super().__init__("asup bt", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        args = arg.split(None, 1)
        if not args:
            raise gdb.GdbError("usage: asup bt TASK [RT]")
        k = find_kernel(args[1] if len(args) > 1 else "")
        want = args[0]
        found = None
        for kt in tasks(k):
            if str(int(kt["t"]["index"])) == want or _name(kt) == want:
                found = kt
                break
        if found is None:
            raise gdb.GdbError("no live task %s" % want)
        t = found["t"]
        state = int(t["state"])
        if STATES[state] == "RUNNING":
            print("task %s is running: use bt" % want)
            gdb.execute("bt")
            return
        if int(t["stack"]) == 0:
            print("task %s has not started (no stack yet)" % want)
            return
        self._bt_from(t["fiber"]["ctx"])

    def _bt_from(self, ctx):
        arch = gdb.selected_frame().architecture().name()
        gdb.execute("select-frame 0")
        fields = [f.name for f in ctx.type.strip_typedefs().fields()]
        if "uc" in fields and ("x86-64" in arch or "x86_64" in arch):
            # the portable backend: a ucontext_t (glibc's REG_RBP/RSP/RIP)
            mc = ctx["uc"]["uc_mcontext"]
            names = [f.name for f in mc.type.strip_typedefs().fields()]
            g = mc["gregs" if "gregs" in names else "__gregs"]
            regs = {"rsp": int(g[15]), "rip": int(g[16]), "rbp": int(g[10])}
        elif "x86-64" in arch or "x86_64" in arch:
            regs = {"rsp": int(ctx["sp"]), "rip": int(ctx["pc"]), "rbp": int(ctx["bp"])}
        elif "aarch64" in arch:
            sp = int(ctx["sp"])
            inf = gdb.selected_inferior()
            x29 = int.from_bytes(inf.read_memory(sp + 80, 8).tobytes(), "little")
            x30 = int.from_bytes(inf.read_memory(sp + 88, 8).tobytes(), "little")
            regs = {"sp": sp + 176, "pc": x30, "x29": x29}
        else:
            raise gdb.GdbError("asup bt: unsupported architecture %s" % arch)
        saved = {r: int(gdb.parse_and_eval("$" + r)) for r in regs}
        try:
            for r, v in regs.items():
                gdb.execute("set $%s = %d" % (r, v))
            gdb.execute("bt")
        finally:
            gdb.execute("select-frame 0")
            for r, v in saved.items():
                gdb.execute("set $%s = %d" % (r, v))


AsupPrefix()
AsupTasks()
AsupBt()
