/*
 * Fiber context switch for x86-64 System V.
 *
 * void asup__ctx_switch(asup__ctx *from, asup__ctx *to)
 *   Saves the callee-saved state of the caller on its own stack, stores the
 *   stack pointer in from->sp, loads to->sp and restores the state found
 *   there. Returns on the other stack.
 *
 * Saved frame, from the stack pointer upward:
 *   [0]  MXCSR (4 bytes) and x87 control word (2 bytes), 8-byte slot
 *   [8]  r15  [16] r14  [24] r13  [32] r12  [40] rbx  [48] rbp
 *   [56] return address
 *
 * A new context (asup__ctx_init in fiber.c) holds the same frame with r12 =
 * argument, r13 = entry function and the return address pointing at
 * asup__ctx_trampoline, which calls entry(arg). entry never returns.
 */
	.text
	.globl	asup__ctx_switch
	.hidden	asup__ctx_switch
	.type	asup__ctx_switch, @function
	.p2align 4
asup__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	asup__ctx_switch, .-asup__ctx_switch

	.globl	asup__ctx_trampoline
	.hidden	asup__ctx_trampoline
	.type	asup__ctx_trampoline, @function
	.p2align 4
asup__ctx_trampoline:
	.cfi_startproc
	/* The outermost frame of a fiber: tell debuggers to stop unwinding. */
	.cfi_undefined rip
	movq	%r12, %rdi
	xorl	%ebp, %ebp
	callq	*%r13
	ud2
	.cfi_endproc
	.size	asup__ctx_trampoline, .-asup__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
