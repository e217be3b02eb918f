"""The FFMAs a kernel executes, found in the machine code of its counting build.

A kernel writes `acc += a * b`; NVCC contracts every such multiply-add into one FFMA
instruction (its default, --fmad=true). The counting build asks g++ for the same:
-ffp-contract=fast with the CPU's own fused multiply-add (-mfma, x86 FMA3), so each
a * b + c of the kernel becomes one vfmadd...ss instruction, and an explicit fmaf() too.
Two more tools count them without a hook per instruction:

    -fsanitize-coverage=trace-pc   every basic block starts with a call to
                                   __sanitizer_cov_trace_pc (simt_counters.cpp), whose
                                   return address names the block; the hook counts how many
                                   times each block ran, per thread of the launch
    objdump -d                     says which FMA instructions follow each such call,
                                   up to the next one: the FMAs of that block

    FFMA of a launch = sum over blocks of (times the block ran) x (its FMA lanes)

so the count is per thread: a warp-wide FFMA instruction with 32 active lanes counts 32
(as Nsight Compute's smsp__sass_thread_inst_executed_op_ffma_pred_on), and the flops are
2 per FFMA. A scalar FMA (ss) is one lane; a packed one four (xmm) or eight (ymm), though
the counting build does not vectorise. Double precision (DFMA on a GPU) is not counted.

Only FMAs whose innermost source line is in the kernel's own file count: the emulator's
runtime (simt_cpu.h) and its tensor-core model (include/mma.h, counted as MMA) are compiled
into the same library and would otherwise add theirs.

What is counted is what g++ contracts, which is what NVCC contracts in the usual cases: a
product feeding an addition or subtraction in the same basic block. They can differ where a
branch separates the two: g++ fuses only within a block, while NVCC may copy a loop for each
way of a branch and fuse in some copies (layer norm's `xhat * (w ? w[i] : 1.f) + (b ? b[i] :
0.f)` is a multiply and an add here and in NVCC's copy for a weight and a bias, one FFMA in
its copy without a weight). The FFMAs the GPU spends inside its software division, sqrt and
logf are not in the kernel's source, so not counted. Fused, the counting build also rounds as
the GPU does: its results may differ from the plain build's in the last bit.
"""
import re
import shutil
import subprocess

INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
FMA = re.compile(r"^vf(?:n?m(?:add|sub)|maddsub|msubadd)(?:132|213|231)(ss|ps)$")
PREFIXES = {"rep", "repz", "repnz", "repe", "repne", "lock", "notrack", "bnd", "data16", "cs", "ds"}
TRACE_PC = "__sanitizer_cov_trace_pc"
ENDS = {"ret", "ud2", "hlt", "int3"}


def instructions(library):
    """{address: (mnemonic, operands, next address)} of the library's code, by objdump."""
    if shutil.which("objdump") is None:
        raise RuntimeError("counting FFMA needs objdump (GNU binutils, which g++ itself uses): install binutils")
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", library],
                          capture_output=True, text=True, check=True).stdout
    parsed = []
    for line in text.splitlines():
        match = INSTRUCTION.match(line)
        if match:
            words = match.group(2).split(None, 1)
            while len(words) == 2 and words[0] in PREFIXES:
                words = words[1].split(None, 1)
            if words and not words[0].startswith("("):      # "(bad)": bytes that are not code
                parsed.append((int(match.group(1), 16), words[0], words[1] if len(words) == 2 else ""))
    code = {}
    for (address, mnemonic, operands), following in zip(parsed, parsed[1:] + [(None,)]):
        code[address] = (mnemonic, operands, following[0])
    return code


def lanes(mnemonic, operands):
    """How many float multiply-adds one FMA instruction does (0 if it is not one)."""
    match = FMA.match(mnemonic)
    if not match:
        return 0
    return 1 if match.group(1) == "ss" else (8 if "%ymm" in operands else 4)


def target(operands):
    """The address a direct jump goes to, or None for an indirect one (jmp *%rax)."""
    match = re.match(r"([0-9a-f]+) <", operands)
    return int(match.group(1), 16) if match else None


def is_trace_call(mnemonic, operands):
    return mnemonic == "call" and f"<{TRACE_PC}" in operands


def block_fmas(code, start):
    """(fmas, stray): the FMA instructions from `start`, a block's first instruction, to the
    block's end (through unconditional jumps), and any FMA reachable past a conditional jump
    before the next block starts: that one would belong to no block, and the count be wrong."""
    fmas, stray, todo, seen, straight = [], [], [start], set(), True
    while todo:
        at = todo.pop()
        while at in code and at not in seen:
            seen.add(at)
            mnemonic, operands, following = code[at]
            if is_trace_call(mnemonic, operands) or mnemonic in ENDS:
                break
            if lanes(mnemonic, operands):
                (fmas if straight else stray).append(at)
            if mnemonic == "jmp":
                at = target(operands)
            else:
                if mnemonic.startswith("j"):               # a conditional jump: the block ends here
                    straight = False
                    todo.append(target(operands))
                at = following
    return fmas, stray


def fma_sites(library, filename, frames_of):
    """[(block, site, lanes), ...]: for every FMA instruction of the kernel's own source file,
    the offset of its block (the return address of the block's trace-pc call), the offset just
    past the instruction (a pc like a hook's return address, for the counts per line), and its
    lanes. `frames_of(library, offsets)` gives the inlined source frames of each offset,
    innermost first (counters.inline_frames). Raises if the count would be wrong: an FMA of
    the kernel's file in no block, or where its block cannot be told."""
    code = instructions(library)
    every = [a for a, (mnemonic, operands, _) in code.items() if lanes(mnemonic, operands)]
    frames = frames_of(library, [a + 1 for a in every])      # + 1: it takes return addresses
    own = {a for a, f in zip(every, frames) if f and f[0].rpartition(":")[0].endswith(filename)}
    sites, counted = [], set()
    for mnemonic, operands, block in code.values():
        if not is_trace_call(mnemonic, operands):
            continue
        fmas, stray = block_fmas(code, block)
        if own.intersection(stray):
            raise RuntimeError(unattributed(library, min(own.intersection(stray)), "follows a branch in its block"))
        for fma in (a for a in fmas if a in own):
            mnemonic, operands, after = code[fma]
            sites.append((block, after, lanes(mnemonic, operands)))
            counted.add(fma)
    if own - counted:
        raise RuntimeError(unattributed(library, min(own - counted), "is in no instrumented basic block"))
    return sites


def unattributed(library, address, why):
    return (f"cannot count the FFMAs of {library}: the FMA instruction at {hex(address)} {why} "
            "(objdump -d shows it), so the count would be wrong")
