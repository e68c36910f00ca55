
$33333333-4444-4555-8666-777777777777 îŠÿ’"	
u_11dZF
DSR-7 * complex request: two more months2dpo@example.com:gdpr