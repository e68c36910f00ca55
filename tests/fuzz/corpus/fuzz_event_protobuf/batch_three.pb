
š
$5f0c6a4e-2b1d-4c8e-9a7f-3d2e1b0c9a81€âŠ˜·ª˜"
u_123alice@example.comRM
	essential
	analytics
advertising

functional"

2026-11-01(
T
$7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f€ş¦Ñ·ª˜"bob@example.comZ
DSR-1001 
»
$0B6F1C2E-8D4A-4F3B-9C1E-2A7D5E8F9B10€ğÔ—Ãä”acme" Carol@Example.COM dev-42Re

stripe
sentry
google_analytics_4"1
v7b3de-CH" Ÿ†ĞˆL}eš/ê ÅZĞ£¿O+‚,Ñ]l°ğ
(