
$5f0c6a4e-2b1d-4c8e-9a7f-3d2e1b0c9a81€âŠ˜·ª˜"
u_123alice@example.comRM
	essential
	analytics
advertising

functional"

2026-11-01(