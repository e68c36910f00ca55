
$99999999-aaaa-4bbb-8ccc-ddddddddddddΐλίδ”"a@bR

hotjar"
1