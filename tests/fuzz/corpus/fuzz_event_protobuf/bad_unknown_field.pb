
$5f0c6a4e-2b1d-4c8e-9a7f-3d2e1b0c9a81€âŠ˜·ª˜"P"& »¹Ø0è,$ÏAİù›5°O ¤8)†[Á®„NñÖ“áH"& ÒõDOŞPç>¯Õ¼~g,…ãúÒ§Uù÷š?à=RM
advertising
	analytics
	essential

functional"

2026-11-01(x