
$0B6F1C2E-8D4A-4F3B-9C1E-2A7D5E8F9B10€ğÔ—Ãä”acme" Carol@Example.COM dev-42Re

stripe
sentry
google_analytics_4"1
v7b3de-CH" Ÿ†ĞˆL}eš/ê ÅZĞ£¿O+‚,Ñ]l°ğ
(