/*
 * Fiber context switch for AArch64 (AAPCS64).
 *
 * void asup__ctx_switch(asup__ctx *from, asup__ctx *to)
 *   Saves x19-x30 and d8-d15 (the callee-saved registers; x29 is the frame
 *   pointer, x30 the link register) plus FPCR in a 176-byte frame on the
 *   current stack, stores sp in from->sp, loads to->sp and restores.
 *
 * Frame, from sp upward:
 *   [0] x19 x20  [16] x21 x22  [32] x23 x24  [48] x25 x26  [64] x27 x28
 *   [80] x29 x30 [96] d8 d9 [112] d10 d11 [128] d12 d13 [144] d14 d15
 *   [160] fpcr, padding
 *
 * A new context holds x19 = argument, x20 = entry and x30 =
 * asup__ctx_trampoline, which calls entry(arg). entry never returns.
 */
	.text
	.globl	asup__ctx_switch
	.hidden	asup__ctx_switch
	.type	asup__ctx_switch, %function
	.p2align 4
asup__ctx_switch:
	.cfi_startproc
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	ldr	x9, [x1]
	mov	sp, x9
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.cfi_endproc
	.size	asup__ctx_switch, .-asup__ctx_switch

	.globl	asup__ctx_trampoline
	.hidden	asup__ctx_trampoline
	.type	asup__ctx_trampoline, %function
	.p2align 4
asup__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	mov	x29, #0
	mov	x0, x19
	blr	x20
	brk	#0
	.cfi_endproc
	.size	asup__ctx_trampoline, .-asup__ctx_trampoline

	.section .note.GNU-stack,"",%progbits
