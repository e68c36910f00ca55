
$7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f€þ¦Ñ·ª˜"bob@example.comZ
DSR-1001 