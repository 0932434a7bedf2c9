/*
 * x86-64 System V: the entry of a new fiber.
 *
 * The switch itself is inline assembly (asup__ctx_switch in fiber.h). A new
 * context resumes here with the stack holding [argument, entry] (set up by
 * ctx_init in fiber.c); popping both leaves rsp 16-byte aligned, so the call
 * gives entry the ABI's alignment. entry never returns.
 */
	.text
	.globl	asup__ctx_trampoline
	.hidden	asup__ctx_trampoline
	.type	asup__ctx_trampoline, @function
	.p2align 4
asup__ctx_trampoline:
	.cfi_startproc
	/* The outermost frame of a fiber: tell debuggers to stop unwinding. */
	.cfi_undefined rip
	popq	%rdi
	popq	%rax
	xorl	%ebp, %ebp
	callq	*%rax
	ud2
	.cfi_endproc
	.size	asup__ctx_trampoline, .-asup__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
