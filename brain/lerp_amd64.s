#include "textflag.h"

// func lerpRows(out, r0, r1 []float32, w float32)
// out[i] = r0[i] + (r1[i]-r0[i])*w, four lanes at a time with SSE (part of
// every amd64), then one at a time; the same operations, in the same order,
// as the Go loop, so the results are the same bits.
TEXT ·lerpRows(SB), NOSPLIT, $0-76
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ r0_base+24(FP), SI
	MOVQ r1_base+48(FP), DX
	MOVSS w+72(FP), X0
	SHUFPS $0, X0, X0
	MOVQ CX, BX
	SHRQ $2, BX
	JZ tail

loop4:
	MOVUPS (SI), X1
	MOVUPS (DX), X2
	SUBPS X1, X2
	MULPS X0, X2
	ADDPS X1, X2
	MOVUPS X2, (DI)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	DECQ BX
	JNZ loop4

tail:
	ANDQ $3, CX
	JZ done

loop1:
	MOVSS (SI), X1
	MOVSS (DX), X2
	SUBSS X1, X2
	MULSS X0, X2
	ADDSS X1, X2
	MOVSS X2, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JNZ loop1

done:
	RET
