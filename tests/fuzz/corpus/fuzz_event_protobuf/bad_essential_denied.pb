
$66666666-7777-4888-8999-aaaaaaaaaaaa€€Õ˜ä–”"
uR
	essential"
1